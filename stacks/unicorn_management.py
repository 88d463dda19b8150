"""The unicorn management service: POST /submit-ride-completion -> Rides table -> ride topic.

The front door: its alarms (producer errors and throttles, API 5XX and p99 latency, rides left
PENDING) are built here and sent to the ops topic by Monitoring.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.alarm_specs import AlarmSpec, build_alarms
from stacks.config import AppSettings
from stacks.secure_defaults import acknowledge, build_function, build_log_group

RESOURCE_PATH = "submit-ride-completion"
SERVICE_NAME = "UnicornManagement"  # POWERTOOLS_SERVICE_NAME: the `service` dimension of its metrics
# Emitted by the producer (lambdas/unicorn_management/logic.py) for each ride it leaves PENDING.
RIDES_LEFT_PENDING_METRIC = "RidesLeftPending"


class UnicornManagement(Construct):
    """Rides table, producer function and REST API, with their alarms.

    Public: `table`, `function`, `api`, `url`, `method`, `ride_submitter` (the managed policy callers
    attach when the method is IAM-authorized, else None), `alarms`, `rides_left_pending` (the metric).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: AppSettings, topic: sns.ITopic,
                 function_props: dict, metrics_namespace: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self, "RidesTable", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True))

        self.function = build_function(
            self, "SubmitRideCompletion", function_props=function_props,
            log_retention_days=settings.log_retention_days,
            environment={"POWERTOOLS_SERVICE_NAME": SERVICE_NAME, "RIDES_TABLE_NAME": self.table.table_name,
                         "TOPIC_ARN": topic.topic_arn},
            description="Validates, stores and publishes completed rides",
            handler="unicorn_management.handler.lambda_handler",
            timeout=Duration.seconds(settings.producer_timeout_seconds), memory_size=settings.producer_memory_mb)
        self.function.add_to_role_policy(iam.PolicyStatement(
            actions=["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], resources=[self.table.table_arn]))
        topic.grant_publish(self.function)
        acknowledge(self.function, "IAM5", "Publishing to a KMS-encrypted topic needs kms:GenerateDataKey*, granted "
                    "on the topic's own key only.", "Action::kms:GenerateDataKey*")

        access_logs = build_log_group(self, "ApiAccessLogs", retention_days=settings.log_retention_days)
        # Access logs need the account's API Gateway CloudWatch role, which a fresh account has not set
        # ("CloudWatch Logs role ARN must be set in account settings"). "create" makes the role and sets
        # it, account-wide for this region; both are retained on destroy, so the setting never points
        # at a deleted role. "existing" leaves a role someone else manages alone (preflight checks it).
        creates_role = settings.api_gateway_cloud_watch_role == "create"
        self.api = apigw.RestApi(
            self, "Api", rest_api_name="WildRydesUnicornManagement", cloud_watch_role=creates_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if creates_role else None,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name="prod", tracing_enabled=True,
                throttling_rate_limit=settings.api_rate_limit, throttling_burst_limit=settings.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False)))
        signed = settings.api_authorization == "iam"
        self.method = self.api.root.add_resource(RESOURCE_PATH).add_method(
            "POST", apigw.LambdaIntegration(self.function),
            authorization_type=apigw.AuthorizationType.IAM if signed else apigw.AuthorizationType.NONE)
        self.url = self.api.url_for_path(f"/{RESOURCE_PATH}")
        self.ride_submitter = self._ride_submitter() if signed else None
        self._acknowledge_authorization(signed)
        acknowledge(self.api, "APIG2", "The handler validates the body against the ride model so that a 400 names "
                    "the field and the reason, and the same rule runs in the local cloud; a second schema in "
                    "API Gateway would drift from it.")
        acknowledge(self.api, "APIG3", "WAF costs at least 5 USD a month per web ACL, more than this whole sandbox "
                    "stack; attach one in production.")
        acknowledge(self.api, "APIG6", "Access logs are on (APIG1): one JSON line per request with status, "
                    "latency and caller IP. Execution logging is left off on purpose: it writes request and "
                    "response bodies (customer names, routes) to logs and costs per request. Both kinds need the "
                    "account's API Gateway CloudWatch role (see apiGatewayCloudWatchRole).")
        if creates_role:
            acknowledge(self.api.node.find_child("CloudWatchRole"), "IAM4", "AmazonAPIGatewayPushToCloudWatchLogs "
                        "is the AWS-managed policy made for the account's API Gateway logging role; it lets API "
                        "Gateway write logs only.", "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs")

        self.rides_left_pending = cw.Metric(
            namespace=metrics_namespace, metric_name=RIDES_LEFT_PENDING_METRIC,
            dimensions_map={"service": SERVICE_NAME}, statistic="Sum", period=Duration.minutes(1))
        self.alarms = self._alarms(settings)

    def _ride_submitter(self) -> iam.ManagedPolicy:
        """What a caller's role needs to submit rides: execute-api:Invoke on this one method of this stage."""
        return iam.ManagedPolicy(
            self, "RideSubmitter", description="Submit completed rides: POST /submit-ride-completion (SigV4-signed)",
            statements=[iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[self.method.method_arn])])

    def _acknowledge_authorization(self, signed: bool) -> None:
        if signed:  # APIG4 is met by AWS_IAM; COG4 asks for Cognito specifically
            acknowledge(self.api, "COG4", "The callers are AWS workloads, not end users: they sign with SigV4 and "
                        "need execute-api:Invoke (the RideSubmitter policy); a Cognito user pool has no one to hold.")
            return
        reason_open = ("apiAuthorization is \"none\": the workshop's open POST, chosen in cdk.json; anyone with the "
                       "URL may write rides, bounded only by the stage throttle. The default is \"iam\".")
        acknowledge(self.api, "APIG4", reason_open)
        acknowledge(self.api, "COG4", reason_open)

    def _alarms(self, settings: AppSettings) -> list[cw.Alarm]:
        one_minute, stage = Duration.minutes(1), self.api.deployment_stage
        latency_ms = settings.api_latency_alarm_ms
        return build_alarms(self, [
            AlarmSpec("ProducerErrors", self.function.metric_errors(period=one_minute, statistic="Sum"), 0, 1,
                      "SubmitRideCompletion failed invocations: clients got 502s"),
            AlarmSpec("ProducerThrottles", self.function.metric_throttles(period=one_minute, statistic="Sum"), 0, 1,
                      "SubmitRideCompletion was throttled: the account's Lambda concurrency is exhausted"),
            AlarmSpec("Api5xx", stage.metric_server_error(period=one_minute, statistic="Sum"), 0, 1,
                      "The ride API answered 5XX: rides were not accepted (503 store/publish failures, 502 crashes)"),
            AlarmSpec("ApiLatency", stage.metric_latency(period=Duration.minutes(5), statistic="p99"), latency_ms, 3,
                      f"The ride API's p99 latency was over {latency_ms} ms for 15 minutes"),
            AlarmSpec("RidesLeftPending", self.rides_left_pending, 0, 1,
                      "Rides left PENDING in the Rides table: a publish failed (the client got a 503 and should "
                      "retry), or the status update after a publish did"),
        ])
