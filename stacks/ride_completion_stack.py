"""The stack: ride topic, unicorn management service, subscriber services, monitoring, outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.config import LAMBDAS_DIR, AppSettings
from stacks.monitoring import Monitoring
from stacks.secure_defaults import build_key
from stacks.subscriber_service import SubscriberService
from stacks.unicorn_management import UnicornManagement

METRICS_NAMESPACE = "WildRydes"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]


class RideCompletionStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: AppSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        Tags.of(self).add("project", "wild-rydes-topic-queue-chaining")

        self.topic_key = build_key(self, "RideTopicKey", description="Wild Rydes RideCompletionTopic")
        self.topic = sns.Topic(self, "RideCompletionTopic", display_name="Wild Rydes ride completions",
                               master_key=self.topic_key, enforce_ssl=True)
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="OwnerAccountOnly", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
            actions=["sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes", "sns:AddPermission"],
            resources=[self.topic.topic_arn],
            conditions={"StringNotEquals": {"aws:PrincipalAccount": self.account}}))

        # One asset for every function (shared/ is imported by all); Powertools from the public layer
        # at exactly the pinned version (bundling dependencies would need Docker).
        runtime, architecture = lambda_.Runtime.PYTHON_3_14, lambda_.Architecture.ARM_64
        layer_arn = ssm.StringParameter.value_for_string_parameter(
            self, settings.powertools_layer_parameter(runtime.name, architecture.name))
        function_props: dict[str, Any] = {
            "runtime": runtime,
            "architecture": architecture,
            "code": lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=ASSET_EXCLUDES),
            "layers": [lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn)],
            "tracing": lambda_.Tracing.ACTIVE,
            "environment": {"POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE, "POWERTOOLS_LOG_LEVEL": "INFO"},
        }

        self.unicorn_management = UnicornManagement(self, "UnicornManagement", settings=settings, topic=self.topic,
                                                    function_props=function_props)
        self.services = [
            SubscriberService(self, s.name, settings=s, topic=self.topic, function_props=function_props,
                              log_retention_days=settings.log_retention_days)
            for s in settings.subscribers
        ]
        self.monitoring = Monitoring(self, "Monitoring", ride_topic=self.topic, services=self.services,
                                     alarm_email=settings.alarm_email)
        self._outputs()

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.unicorn_management.url, "POST rides here"),
            "RideCompletionTopicArn": (self.topic.topic_arn, "the ride topic"),
            "RidesTableName": (self.unicorn_management.table.table_name, "rides as submitted"),
            "AlarmTopicArn": (self.monitoring.alarm_topic.topic_arn, "ops alarms"),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
        }
        for service in self.services:
            name = service.settings.name
            outputs.update({
                f"{name}QueueUrl": (service.queue.queue_url, f"{name} queue"),
                f"{name}DlqUrl": (service.dead_letter_queue.queue_url, f"{name} dead-letter queue"),
                f"{name}SubscriptionDlqUrl": (service.subscription_dead_letter_queue.queue_url,
                                              f"{name} SNS subscription dead-letter queue"),
                f"{name}TableName": (service.table.table_name, f"{name} effects, one item per ride id"),
                f"{name}FunctionName": (service.function.function_name, f"{name} consumer"),
            })
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)
