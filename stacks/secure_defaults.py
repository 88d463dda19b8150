"""Secure defaults in one place: queues, keys and log groups built the same way everywhere."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to notice and redrive
# The cdk-nag packs that run at synth (app_factory.py), by the name their findings carry.
AWS_SOLUTIONS, SERVERLESS = "AwsSolutions", "Serverless"


def acknowledge(construct: IConstruct, rule: str, reason: str, applies_to: str | None = None, *,
                pack: str = AWS_SOLUTIONS) -> None:
    """Acknowledge one cdk-nag finding of `pack` on a construct, with the reason it is accepted.

    The id is the one the finding prints, e.g. `Serverless::Serverless-LambdaDLQ`."""
    suffix = f"[{applies_to}]" if applies_to else ""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{pack}-{rule}{suffix}", reason=reason))


def build_queue(scope: Construct, construct_id: str, *, visibility_timeout: Duration | None = None,
                dead_letter_queue: sqs.IQueue | None = None, max_receive_count: int | None = None,
                retention: Duration | None = None, fifo: bool = False) -> sqs.Queue:
    """An SSL-only queue with SQS-managed encryption (SSE-SQS); a FIFO queue when `fifo`.

    SSE-SQS rather than a KMS key: SNS can deliver to it without key grants, it costs nothing per
    request, and an SNS-subscribed queue may not use the AWS-managed `alias/aws/sqs` key anyway.
    A FIFO queue deduplicates on the id the sender gives (the ride id), never on content.
    """
    dlq = (sqs.DeadLetterQueue(queue=dead_letter_queue, max_receive_count=max_receive_count)
           if dead_letter_queue is not None and max_receive_count is not None else None)
    return sqs.Queue(scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                     visibility_timeout=visibility_timeout, dead_letter_queue=dlq, retention_period=retention,
                     fifo=True if fifo else None)


def build_dead_letter_queue(scope: Construct, construct_id: str, *, for_subscription: bool = False,
                            fifo: bool = False) -> sqs.Queue:
    """A DLQ; a FIFO queue's DLQ and a FIFO subscription's DLQ must be FIFO queues themselves."""
    queue = build_queue(scope, construct_id, retention=DLQ_RETENTION, fifo=fifo)
    reason = ("This queue is itself a dead-letter queue; a DLQ of a DLQ would only move the problem. Its depth "
              "has an alarm.")
    acknowledge(queue, "SQS3", reason + (" It is the SNS subscription's DLQ, which cdk-nag does not recognise as a "
                                         "DLQ." if for_subscription else ""))
    acknowledge(queue, "SQSRedrivePolicy", f"{reason} Nothing consumes from it but an operator's redrive.",
                pack=SERVERLESS)
    return queue


def build_key(scope: Construct, construct_id: str, *, description: str,
              service_principals: tuple[str, ...] = ()) -> kms.Key:
    """A customer-managed key with rotation; the named services may use it to encrypt and decrypt."""
    key = kms.Key(scope, construct_id, description=description, enable_key_rotation=True,
                  removal_policy=RemovalPolicy.DESTROY, pending_window=Duration.days(7))
    for principal in service_principals:  # only on behalf of this account (no confused deputy)
        key.add_to_resource_policy(iam.PolicyStatement(
            sid=f"Allow{principal.split('.')[0].capitalize()}",
            principals=[iam.ServicePrincipal(principal)],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}))
    return key


def build_log_group(scope: Construct, construct_id: str, *, retention_days: int) -> logs.LogGroup:
    """A log group with the configured retention (config.py checks it is a value CloudWatch takes)."""
    group = logs.LogGroup(scope, construct_id, removal_policy=RemovalPolicy.DESTROY)
    cfn = group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    cfn.retention_in_days = retention_days  # RetentionDays is a named enum; the L1 takes the number
    return group


def build_function(scope: Construct, construct_id: str, *, function_props: dict[str, Any],
                   environment: dict[str, str], log_retention_days: int, **props: Any) -> lambda_.Function:
    """A function on the shared runtime/code/layer props, with its own log group (retention set) and
    the cdk-nag acknowledgments every function here needs; `environment` is added to the shared one."""
    function = lambda_.Function(
        scope, construct_id, **{**function_props, **props,
                                "environment": {**function_props.get("environment", {}), **environment}},
        log_group=build_log_group(scope, f"{construct_id}Logs", retention_days=log_retention_days))
    acknowledge(function, "IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    acknowledge(function, "IAM5", "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level "
                "permissions.", "Resource::*")
    acknowledge(function, "LambdaDLQ", "No function here is invoked asynchronously, where a function DLQ applies: "
                "the producer is called synchronously by API Gateway (the client sees the error and retries), "
                "and consumers are polled from SQS, whose own redrive policy moves failing messages to the "
                "queue's DLQ.", pack=SERVERLESS)
    return function
