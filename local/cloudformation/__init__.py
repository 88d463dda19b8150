"""CloudFormation, as the local cloud needs it: create the synthesized stack's resources in dependency order
through the local AWS APIs (`resources.py`), read back what runs (`deployment.py`), and answer the reads a
user makes of the stack (`stack_reads.py`).

AWS documents these in the CloudFormation user guide ("Template anatomy", "Intrinsic function reference")
and API reference (DescribeStacks, DescribeStackEvents, GetTemplate, ...).
"""
