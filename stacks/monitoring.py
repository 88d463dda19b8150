"""Ops alarm topic (encrypted, CloudWatch may publish), SNS delivery-failure alarm, one dashboard.

Every alarm of the stack (front door, topic, each subscriber service) notifies the ops topic. With
`alarmEmail` empty nobody is subscribed to it: alarms change state and nobody is told.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.secure_defaults import SERVERLESS, acknowledge, build_key
from stacks.subscriber_service import SubscriberService
from stacks.unicorn_management import UnicornManagement

CLOUDWATCH = "cloudwatch.amazonaws.com"
# An SNS FIFO topic (default, topic-scoped throughput) takes 3,000 messages/s; beyond that Publish is throttled.
FIFO_TOPIC_MESSAGES_PER_SECOND = 3000
FIFO_THROUGHPUT_ALARM_SHARE = 0.8


class Monitoring(Construct):
    """Public: `alarm_topic`, `alarm_key`, `delivery_failure_alarm`, `fifo_throughput_alarm` (FIFO only, else
    None), `dashboard`."""

    def __init__(self, scope: Construct, construct_id: str, *, ride_topic: sns.Topic, producer: UnicornManagement,
                 services: list[SubscriberService], alarm_email: str, api_latency_alarm_ms: int) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch must be able to use the key, or alarms fire and nobody is told (aws-cdk#11121).
        self.alarm_key = build_key(self, "AlarmTopicKey", description="Wild Rydes ops alarm topic",
                                   service_principals=(CLOUDWATCH,))
        self.alarm_topic = sns.Topic(self, "AlarmTopic", display_name="Wild Rydes ops alarms",
                                     master_key=self.alarm_key, enforce_ssl=True)
        self.alarm_topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarms", principals=[iam.ServicePrincipal(CLOUDWATCH)], actions=["sns:Publish"],
            resources=[self.alarm_topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}))
        if alarm_email:
            email = self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            acknowledge(email, "SNSRedrivePolicy", "An alarm that could not be emailed still stands in CloudWatch "
                        "(ALARM state, dashboard) and the failed delivery counts in the alarm topic's "
                        "NumberOfNotificationsFailed; a dead-letter queue behind an email address would hold "
                        "notifications nobody reads.", pack=SERVERLESS)

        self.delivery_failure_alarm = cw.Alarm(
            self, "RideTopicDeliveryFailures",
            metric=ride_topic.metric_number_of_notifications_failed(period=Duration.minutes(1), statistic="Sum"),
            threshold=0, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description="RideCompletionTopic failed to deliver notifications (see the subscription DLQs)")
        # FIFO: a warning before the topic's throughput quota throttles the producer's publishes (503s).
        self.fifo_throughput_alarm = cw.Alarm(
            self, "RideTopicFifoThroughput",
            metric=ride_topic.metric_number_of_messages_published(period=Duration.minutes(1), statistic="Sum"),
            threshold=FIFO_THROUGHPUT_ALARM_SHARE * FIFO_TOPIC_MESSAGES_PER_SECOND * 60, evaluation_periods=3,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"RideCompletionTopic (FIFO) above {FIFO_THROUGHPUT_ALARM_SHARE:.0%} of its "
                              f"{FIFO_TOPIC_MESSAGES_PER_SECOND:,} messages/s for 3 minutes: beyond it, publishes "
                              "are throttled") if ride_topic.fifo else None
        action = cw_actions.SnsAction(self.alarm_topic)
        topic_alarms = [a for a in (self.delivery_failure_alarm, self.fifo_throughput_alarm) if a is not None]
        for alarm in [*producer.alarms, *topic_alarms, *(a for s in services for a in s.alarms)]:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self._front_door_widgets(producer, api_latency_alarm_ms)
        self.dashboard.add_widgets(cw.GraphWidget(
            title="RideCompletionTopic", width=24,
            left=[ride_topic.metric_number_of_messages_published(),
                  ride_topic.metric_number_of_notifications_delivered(),
                  ride_topic.metric_number_of_notifications_failed(),
                  ride_topic.metric_number_of_notifications_filtered_out()]))
        for service in services:
            name = service.settings.name
            self.dashboard.add_widgets(
                cw.GraphWidget(title=f"{name} queue", width=8, left=[
                    service.queue.metric_approximate_number_of_messages_visible(label="visible"),
                    service.queue.metric_approximate_number_of_messages_not_visible(label="in flight"),
                    service.dead_letter_queue.metric_approximate_number_of_messages_visible(label="DLQ"),
                    # FIFO: customers being processed at once; a backlog with few groups in flight waits on order
                    *([service.queue.metric("ApproximateNumberOfGroupsWithInflightMessages", statistic="Maximum",
                                            label="groups in flight")] if service.fifo else [])],
                    right=[service.queue.metric_approximate_age_of_oldest_message(label="oldest (s)")]),
                cw.GraphWidget(title=f"{name} consumer", width=8, left=[
                    service.function.metric_invocations(), service.function.metric_errors(),
                    service.function.metric_throttles()]),
                cw.GraphWidget(title=f"{name} concurrency and duration", width=8, left=[
                    service.function.metric("ConcurrentExecutions", statistic="Maximum")],
                    right=[service.function.metric_duration(statistic="p90")]),
                cw.AlarmStatusWidget(title=f"{name} alarms", width=24, height=3, alarms=service.alarms))

    def _front_door_widgets(self, producer: UnicornManagement, api_latency_alarm_ms: int) -> None:
        stage, function = producer.api.deployment_stage, producer.function
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Ride API requests", width=8, left=[
                stage.metric_count(label="requests", statistic="Sum"),
                stage.metric_client_error(label="4XX", statistic="Sum"),
                stage.metric_server_error(label="5XX", statistic="Sum")]),
            cw.GraphWidget(title="Ride API latency (ms)", width=8, left=[
                stage.metric_latency(label="p50", statistic="p50"),
                stage.metric_latency(label="p99", statistic="p99")],
                left_annotations=[cw.HorizontalAnnotation(value=api_latency_alarm_ms, label="p99 alarm")]),
            cw.GraphWidget(title="SubmitRideCompletion", width=8, left=[
                function.metric_invocations(), function.metric_errors(), function.metric_throttles(),
                producer.rides_left_pending.with_(label="rides left PENDING")],
                right=[function.metric_duration(statistic="p99", label="duration p99 (ms)")]),
            cw.AlarmStatusWidget(title="Front door alarms", width=24, height=3, alarms=producer.alarms))
