"""One subscriber service: topic -> queue (+DLQ) -> Lambda consumer, with its alarms.

The three services of the workshop are three instances of this construct, differing only in
their `SubscriberSettings` (cdk.json). Everything the construct builds is a public attribute.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.alarm_specs import AlarmSpec, build_alarms
from stacks.config import SubscriberSettings
from stacks.secure_defaults import SERVERLESS, acknowledge, build_dead_letter_queue, build_function, build_queue


class SubscriberService(Construct):
    """Queue, DLQ, subscription (raw delivery, own DLQ, optional filter), consumer, ESM, alarms.

    Keyword arguments:
        settings: the service's validated settings.
        topic: the ride completion topic it subscribes to.
        function_props: runtime, code, layers and environment shared by every consumer.
        log_retention_days: retention of the consumer's log group.
        fifo: the topic is an SNS FIFO topic, so every queue is a FIFO queue and the consumer keeps each
            customer's order (ordering "fifo" in cdk.json).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: SubscriberSettings, topic: sns.ITopic,
                 function_props: dict, log_retention_days: int, fifo: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.fifo = settings, fifo
        name = settings.name

        self.dead_letter_queue = build_dead_letter_queue(self, "DeadLetterQueue", fifo=fifo)
        self.queue = build_queue(
            self, "Queue", visibility_timeout=Duration.seconds(settings.queue_visibility_timeout_seconds),
            dead_letter_queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count, fifo=fifo)
        # SNS retries delivery to SQS for 23 days, then drops the message unless the subscription has a DLQ.
        self.subscription_dead_letter_queue = build_dead_letter_queue(
            self, "SubscriptionDeadLetterQueue", for_subscription=True, fifo=fifo)
        self.subscription = topic.add_subscription(subscriptions.SqsSubscription(
            self.queue, raw_message_delivery=True, dead_letter_queue=self.subscription_dead_letter_queue))
        if settings.filter_policy:
            cfn_subscription = self.subscription.node.default_child
            assert isinstance(cfn_subscription, sns.CfnSubscription)
            cfn_subscription.filter_policy = settings.filter_policy
            cfn_subscription.filter_policy_scope = "MessageAttributes"

        # The service's observable, idempotent effect: one item per ride id.
        self.table = dynamodb.Table(
            self, "Table", partition_key=dynamodb.Attribute(name="rideId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True))

        # Optional: per-customer accounts, charged in one transaction with the ledger entry (the table above).
        self.accounts_table = dynamodb.Table(
            self, "AccountsTable",
            partition_key=dynamodb.Attribute(name="customer", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True)) if settings.accounts_table else None
        accounts = {"ACCOUNTS_TABLE_NAME": self.accounts_table.table_name} if self.accounts_table else {}

        self.function = build_function(
            self, "Consumer", function_props=function_props, log_retention_days=log_retention_days,
            environment={"POWERTOOLS_SERVICE_NAME": name, "EFFECT_TABLE_NAME": self.table.table_name,
                         "FAILURE_RATE": str(settings.failure_rate),
                         "RECORD_CONCURRENCY": str(settings.record_concurrency),
                         "ORDERING": "fifo" if fifo else "standard", **accounts},
            description=f"{name}: consumes rides from its queue", handler=settings.handler,
            timeout=Duration.seconds(settings.function_timeout_seconds), memory_size=settings.memory_mb)
        # Least privilege: one conditional PutItem per record, nothing else on the table; with accounts, the
        # same PutItem inside a TransactWriteItems with a conditional UpdateItem of the account (a transaction
        # is authorized per item, on each item's own action; the account it returns on a failed condition
        # needs no read permission).
        self.function.add_to_role_policy(iam.PolicyStatement(
            actions=["dynamodb:PutItem"], resources=[self.table.table_arn]))
        if self.accounts_table:
            self.function.add_to_role_policy(iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"], resources=[self.accounts_table.table_arn]))
        window = settings.max_batching_window_seconds  # always 0 for a FIFO queue (config.py), which takes none
        self.event_source = sources.SqsEventSource(
            self.queue, batch_size=settings.batch_size,
            max_batching_window=Duration.seconds(window) if window else None,
            max_concurrency=settings.max_concurrency, report_batch_item_failures=True)
        self.function.add_event_source(self.event_source)
        [self.event_source_mapping] = [c for c in self.function.node.children
                                       if isinstance(c, lambda_.EventSourceMapping)]
        acknowledge(self.event_source_mapping, "LambdaEventSourceMappingDestination", "Lambda takes no on-failure "
                    "destination for an SQS event source (only for streams and Kafka); a record that keeps failing "
                    "goes to the queue's DLQ by its redrive policy after maxReceiveCount receives.", pack=SERVERLESS)

        self.alarms = self._alarms(name)

    def _alarms(self, name: str) -> list[cw.Alarm]:
        s = self.settings
        one_minute = Duration.minutes(1)
        return build_alarms(self, [
            AlarmSpec("QueueDepth", self.queue.metric_approximate_number_of_messages_visible(
                period=one_minute, statistic="Maximum"), s.queue_depth_alarm_threshold, 5,
                f"{name}: more than {s.queue_depth_alarm_threshold} rides waiting for 5 minutes"),
            AlarmSpec("OldestMessageAge", self.queue.metric_approximate_age_of_oldest_message(
                period=one_minute, statistic="Maximum"), s.oldest_message_alarm_seconds, 3,
                f"{name}: a ride has waited more than {s.oldest_message_alarm_seconds} s"),
            AlarmSpec("DeadLetters", self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=one_minute, statistic="Maximum"), 0, 1,
                f"{name}: rides in the DLQ (failed {s.max_receive_count} times); inspect and redrive"),
            AlarmSpec("SubscriptionDeadLetters",
                      self.subscription_dead_letter_queue.metric_approximate_number_of_messages_visible(
                          period=one_minute, statistic="Maximum"), 0, 1,
                      f"{name}: SNS could not deliver rides to the queue"),
            AlarmSpec("Errors", self.function.metric_errors(period=one_minute, statistic="Sum"), 0, 1,
                      f"{name}: the consumer failed whole invocations"),
            AlarmSpec("Throttles", self.function.metric_throttles(period=one_minute, statistic="Sum"), 0, 1,
                      f"{name}: the consumer was throttled"),
        ])
