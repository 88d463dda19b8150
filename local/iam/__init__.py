"""AWS IAM policy evaluation for the local cloud: pure functions and data, no moto, no boto3, no network.

Emulates what AWS decides for one request from the caller's identity policies (a role's inline and managed
policies) and the resource's policy (SQS queue, SNS topic, KMS key, Lambda function), as the IAM User Guide
documents it in "Policy evaluation logic" and the KMS Developer Guide in "Key policies in AWS KMS":
documents.py parses and validates policy documents, conditions.py decides Condition elements, patterns.py
compiles wildcards and policy variables, principals.py says who calls and whether a statement names it, and
evaluator.py takes the decision and words AWS's AccessDenied message.
"""

from local.iam.documents import (
    MalformedPolicy,
    Policy,
    PolicyKind,
    PolicySource,
    PolicyTooLarge,
    Statement,
    check_role_inline_total,
    parse_policy,
)
from local.iam.evaluator import Decision, DecisionKind, NamedPolicy, Request, StatementRef, evaluate, once
from local.iam.principals import Principal, PrincipalKind

__all__ = ["Decision", "DecisionKind", "MalformedPolicy", "NamedPolicy", "Policy", "PolicyKind", "PolicySource",
           "PolicyTooLarge", "Principal", "PrincipalKind", "Request", "Statement", "StatementRef",
           "check_role_inline_total", "evaluate", "once", "parse_policy"]
