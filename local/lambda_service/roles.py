"""Lambda acting as a function's execution role, as AWS does.

- Each execution environment gets credentials from `sts:AssumeRole` on the function's role, taken by
  `lambda.amazonaws.com` (so the role's trust policy decides), in `AWS_ACCESS_KEY_ID`,
  `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, as Lambda sets them; the session is named for the
  function. The handler's own AWS calls are then judged as that role.
- An SQS event source mapping polls as the role: receive, delete and visibility changes are the role's.
- Lambda writes a function's logs as its role: a role that may not `logs:CreateLogStream` and
  `logs:PutLogEvents` on the stream gets no logs (silently on AWS; reported once here).
- Creating a mapping whose role may not `ReceiveMessage`, `DeleteMessage` or `GetQueueAttributes` on its
  queue is refused with Lambda's own message (seen on AWS: aws/aws-cdk#6770).

The Lambda developer guide documents these in "Defining Lambda function permissions with an execution role"
and "Using Lambda with Amazon SQS" (execution role permissions).
"""

from __future__ import annotations

from typing import Any

from local.iam.enforcer import IN_AWS, Enforcer
from local.iam.principals import Principal

LAMBDA = "lambda.amazonaws.com"
POLLING_ACTIONS = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")


class LambdaRoles:
    def __init__(self, enforcer: Enforcer, region: str) -> None:
        self.enforcer, self.region = enforcer, region

    def role_of(self, function: str) -> str | None:
        """The execution role ARN of a function (by name or ARN); None when there is no such function."""
        from moto.awslambda.models import lambda_backends

        try:
            found = lambda_backends[self.enforcer.account][self.region].get_function(function.rsplit(":", 1)[-1]
                                                                                     if function.startswith("arn:")
                                                                                     else function)
        except Exception:  # moto's UnknownFunctionException
            return None
        return str(found.role)

    def credentials(self, function_name: str) -> dict[str, str]:
        """The variables of a new execution environment's session; {} when Lambda may not assume the role."""
        role_arn = self.role_of(function_name)
        if role_arn is None:
            return {}
        decision = self.enforcer.service_may(LAMBDA, "sts:AssumeRole", role_arn)
        if self.enforcer.refuses(decision):
            self.enforcer.on_problem(f"{function_name}: Lambda cannot assume its role {role_arn} (its trust policy "
                                     "does not allow lambda.amazonaws.com): its environments run without credentials")
            return {}
        return self.enforcer.identities.session_for_role(role_arn, function_name).environment()

    def principal(self, function_name: str) -> Principal | None:
        role_arn = self.role_of(function_name)
        return Principal.session(role_arn, function_name) if role_arn else None

    def authorizer(self, function_name: str, queue_arn: str) -> Any:
        """`authorize(action)` for a poller: None when the role may, else AWS's sentence of why not."""
        def authorize(action: str) -> str | None:
            principal = self.principal(function_name)
            if principal is None:
                return f"the function {function_name} no longer exists"
            decision = self.enforcer.decide(principal, action, queue_arn, IN_AWS)
            return decision.message() if self.enforcer.refuses(decision) else None
        return authorize

    def log_writer(self, writers: dict[str, str]) -> Any:
        """`may_write(group, stream, new)` for log ingestion: whether the role of the function that writes
        to `group` (`writers`: group -> function name) may put (and, for a new stream, create) the stream."""
        refused: set[str] = set()

        def may_write(group: str, stream: str, new: bool) -> bool:
            function = writers.get(group)
            if function is None:  # not a function's group (the access log): API Gateway's role writes it
                return True
            principal = self.principal(function)
            arn = f"arn:aws:logs:{self.region}:{self.enforcer.account}:log-group:{group}:log-stream:{stream}"
            for action in ("logs:CreateLogStream", "logs:PutLogEvents")[0 if new else 1:]:
                decision = self.enforcer.decide(principal, action, arn, IN_AWS) if principal else None
                if decision is None or self.enforcer.refuses(decision):
                    if function not in refused:
                        refused.add(function)
                        self.enforcer.on_problem(f"{function}: its role may not {action} on {group}: its logs are "
                                                 "dropped, as Lambda drops them")
                    return False
            refused.discard(function)
            return True
        return may_write

    def mapping_refusal(self, function: str, queue_arn: str) -> str | None:
        """Lambda's refusal of a new mapping whose role cannot poll the queue (None: it can)."""
        principal = self.principal(function)
        if principal is None or not queue_arn.startswith("arn:aws:sqs:"):
            return None
        for action in POLLING_ACTIONS:
            if self.enforcer.refuses(self.enforcer.decide(principal, f"sqs:{action}", queue_arn, IN_AWS)):
                return f"The provided execution role does not have permissions to call {action} on SQS"
        return None
