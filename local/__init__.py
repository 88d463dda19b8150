"""The embedded local cloud: runs the template that `cdk synth` wrote, on moto, with no AWS account.

`cloud.py` (the process a user starts: the API side) and `aws_process.py` (moto's server and the
Lambda service beside it) are the two places that wire the rooms below; each room emulates one AWS
service's behaviour that moto lacks, and says where AWS documents it:

    cloudformation/   deploy cdk.out, answer the stack's reads
    lambda_service/   execution environments, event source mappings, AWS/Lambda metrics
    sqs/              queue access for the pollers, AWS/SQS metrics, message move tasks
    apigateway/       the REST API front door
    cloudwatch/       publishing the metrics services send on their own

`moto_patches.py` holds the narrow fixes to moto itself; `options.py` what the two processes agree on.
"""
