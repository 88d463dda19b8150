"""Observability singletons: one Logger, Metrics and Tracer per function, named by the service.

The service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, which the stack sets on every function.

The tracer patches botocore only: every call these functions make outside their own code is an AWS
SDK call, and that is what X-Ray shows as subsegments. By default Powertools patches every library the
X-Ray SDK knows that is installed, and patching httpx imports it whole (its command line too: click,
rich, pygments), about 120 ms of a cold start spent on a library no function calls.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=("botocore",))

__all__ = ["logger", "metrics", "tracer"]
