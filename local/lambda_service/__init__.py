"""Lambda, as the local cloud runs it: execution environments forked from a pre-warmed zygote
(`environments.py`, `zygote.py`, `sandbox.py`; what an invocation reports: `invocations.py`), SQS event
source mappings driven by the Lambda API (`event_source_mappings.py`, `pollers.py`), and the AWS/Lambda
metrics (`metrics.py`).

AWS documents these in the Lambda developer guide: "Lambda execution environment", "Using Lambda with
Amazon SQS", "Handling errors for an SQS event source" and "Monitoring functions: metrics".
"""
