"""The stack: ride topic, unicorn management service, subscriber services, monitoring, outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, CfnParameter, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import LAMBDAS_DIR, AppSettings
from stacks.monitoring import Monitoring
from stacks.secure_defaults import build_key
from stacks.subscriber_service import SubscriberService
from stacks.unicorn_management import UnicornManagement

METRICS_NAMESPACE = "WildRydes"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]
TAGS = {"project": "wild-rydes-topic-queue-chaining"}
# A stable name, so a deploy can point it elsewhere: `cdk deploy --parameters PowertoolsLayerParameter=/my/name`
# (`make deploy POWERTOOLS_PARAMETER=/my/name`) where the public parameter is not published.
POWERTOOLS_LAYER_PARAMETER = "PowertoolsLayerParameter"


class RideCompletionStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: AppSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, tags=TAGS, **kwargs)  # the stack's own tags are explicit
        self.settings = settings
        for key, value in TAGS.items():
            Tags.of(self).add(key, value)

        self.topic_key = build_key(self, "RideTopicKey", description="Wild Rydes RideCompletionTopic")
        # ordering "fifo": an SNS FIFO topic (CloudFormation names it *.fifo), deduplicating on the id the
        # producer gives (the ride id), never on content; message groups are customers.
        fifo = settings.ordering == "fifo"
        self.topic = sns.Topic(self, "RideCompletionTopic", display_name="Wild Rydes ride completions",
                               master_key=self.topic_key, enforce_ssl=True,
                               **({"fifo": True, "content_based_deduplication": False} if fifo else {}))
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="OwnerAccountOnly", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
            actions=["sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes", "sns:AddPermission"],
            resources=[self.topic.topic_arn],
            conditions={"StringNotEquals": {"aws:PrincipalAccount": self.account}}))

        # One asset for every function (shared/ is imported by all); Powertools from the public layer
        # at exactly the pinned version (bundling dependencies would need Docker). CloudFormation reads
        # the layer ARN from the SSM parameter at deploy time, so synth calls no AWS API.
        runtime, architecture = lambda_.Runtime.PYTHON_3_14, lambda_.Architecture.ARM_64
        layer_arn = CfnParameter(
            self, POWERTOOLS_LAYER_PARAMETER, type="AWS::SSM::Parameter::Value<String>",
            default=settings.powertools_layer_parameter(runtime.name, architecture.name),
            description="SSM parameter holding the Powertools layer ARN: the public one of the pinned version, or "
                        "your own where it is not published").value_as_string
        function_props: dict[str, Any] = {
            "runtime": runtime,
            "architecture": architecture,
            "code": lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=ASSET_EXCLUDES),
            "layers": [lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn)],
            "tracing": lambda_.Tracing.ACTIVE,
            "environment": {"POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE, "POWERTOOLS_LOG_LEVEL": "INFO"},
        }

        self.unicorn_management = UnicornManagement(self, "UnicornManagement", settings=settings, topic=self.topic,
                                                    function_props=function_props, metrics_namespace=METRICS_NAMESPACE)
        self.services = [
            SubscriberService(self, s.name, settings=s, topic=self.topic, function_props=function_props,
                              log_retention_days=settings.log_retention_days, fifo=fifo)
            for s in settings.subscribers
        ]
        self.monitoring = Monitoring(self, "Monitoring", ride_topic=self.topic, producer=self.unicorn_management,
                                     services=self.services, alarm_email=settings.alarm_email,
                                     api_latency_alarm_ms=settings.api_latency_alarm_ms)
        self._outputs()

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.unicorn_management.url, "POST rides here"),
            "RideCompletionTopicArn": (self.topic.topic_arn, "the ride topic"),
            **({"RideSubmitterPolicyArn": (self.unicorn_management.ride_submitter.managed_policy_arn,
                                           "attach to a caller's role to let it POST rides (SigV4-signed)")}
               if self.unicorn_management.ride_submitter else {}),
            "RidesTableName": (self.unicorn_management.table.table_name, "rides as submitted"),
            "ProducerFunctionName": (self.unicorn_management.function.function_name,
                                     "the producer behind the API (wildrydes drill producer-failure)"),
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
            if service.accounts_table:
                outputs[f"{name}AccountsTableName"] = (service.accounts_table.table_name,
                                                       f"{name} per-customer accounts (balance, rides)")
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)
