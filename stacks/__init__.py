"""CDK constructs and the stack of the Wild Rydes ride-completion app."""
