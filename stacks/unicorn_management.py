"""The unicorn management service: POST /submit-ride-completion -> Rides table -> ride topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import AppSettings
from stacks.secure_defaults import acknowledge, build_function, build_log_group

RESOURCE_PATH = "submit-ride-completion"


class UnicornManagement(Construct):
    """Rides table, producer function and REST API. Public: `table`, `function`, `api`, `url`."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: AppSettings, topic: sns.ITopic,
                 function_props: dict) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self, "RidesTable", partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True))

        self.function = build_function(
            self, "SubmitRideCompletion", function_props=function_props,
            log_retention_days=settings.log_retention_days,
            environment={"POWERTOOLS_SERVICE_NAME": "UnicornManagement", "RIDES_TABLE_NAME": self.table.table_name,
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
        self.api = apigw.RestApi(
            self, "Api", rest_api_name="WildRydesUnicornManagement", cloud_watch_role=False,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name="prod", tracing_enabled=True,
                throttling_rate_limit=settings.api_rate_limit, throttling_burst_limit=settings.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False)))
        self.api.root.add_resource(RESOURCE_PATH).add_method(
            "POST", apigw.LambdaIntegration(self.function), authorization_type=apigw.AuthorizationType.NONE)
        self.url = self.api.url_for_path(f"/{RESOURCE_PATH}")

        reason_open = ("The workshop's contract is an open POST from unicorns; abuse is bounded by stage "
                       "throttling. Put an authorizer in front before real customer data flows.")
        acknowledge(self.api, "APIG4", reason_open)
        acknowledge(self.api, "COG4", reason_open)
        acknowledge(self.api, "APIG2", "The handler validates the body against the ride model so that a 400 names "
                    "the field and the reason, and the same rule runs in the local cloud; a second schema in "
                    "API Gateway would drift from it.")
        acknowledge(self.api, "APIG3", "WAF costs at least 5 USD a month per web ACL, more than this whole sandbox "
                    "stack; attach one in production.")
        acknowledge(self.api, "APIG6", "Access logs are on (APIG1). Execution logging needs the account-wide API "
                    "Gateway CloudWatch role, an account setting this stack does not take over.")
