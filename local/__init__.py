"""The embedded local cloud: runs the template that `cdk synth` wrote, on moto, with no AWS account."""
