"""CDK assertions on the synthesized template: every production property the app promises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.app_factory import project_context
from stacks.config import load_settings

SETTINGS = load_settings(project_context()["wildrydes"])
SERVICES = [s.name for s in SETTINGS.subscribers]
ACCOUNTS = [s.name for s in SETTINGS.subscribers if s.accounts_table]
EXTRAORDINARY_FILTER = {"fare": [{"numeric": [">=", 50]}], "distance": [{"numeric": [">=", 20]}]}


@pytest.fixture(scope="module")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


def resources(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def logical_id(template_json: dict[str, Any], kind: str, prefix: str) -> str:
    [found] = [k for k in resources(template_json, kind) if k.startswith(prefix)]
    return found


def test_three_subscriber_services_from_configuration():
    assert SERVICES == ["CustomerNotification", "CustomerAccounting", "ExtraordinaryRides"]


def test_ride_topic_uses_a_rotating_customer_managed_key(template, template_json):
    key_id = logical_id(template_json, "AWS::KMS::Key", "RideTopicKey")
    template.has_resource_properties("AWS::SNS::Topic", {
        "DisplayName": "Wild Rydes ride completions", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    assert template_json["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True


def test_ride_topic_is_ssl_only_and_owner_only(template, template_json):
    topic_id = logical_id(template_json, "AWS::SNS::Topic", "RideCompletionTopic")
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "Topics": [{"Ref": topic_id}],
        "PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            Match.object_like({"Effect": "Deny", "Action": Match.array_with(["sns:Publish", "sns:Subscribe"]),
                               "Condition": {"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}}),
        ])}})


@pytest.mark.parametrize("name", SERVICES)
def test_queue_is_encrypted_with_dlq_and_long_visibility(template_json, name):
    settings = next(s for s in SETTINGS.subscribers if s.name == name)
    queue = template_json["Resources"][logical_id(template_json, "AWS::SQS::Queue", f"{name}Queue")]["Properties"]
    dlq_id = logical_id(template_json, "AWS::SQS::Queue", f"{name}DeadLetterQueue")
    dlq = template_json["Resources"][dlq_id]["Properties"]
    function = template_json["Resources"][logical_id(template_json, "AWS::Lambda::Function", f"{name}Consumer")]
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                                      "maxReceiveCount": settings.max_receive_count}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    timeout = function["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


def test_every_queue_is_ssl_only(template_json):
    """Each of the nine queues (three services: queue, DLQ, subscription DLQ) denies plain HTTP; the count makes
    sure the loop below has queues to look at."""
    queues = resources(template_json, "AWS::SQS::Queue")
    assert len(queues) == 9, sorted(queues)
    policies = resources(template_json, "AWS::SQS::QueuePolicy").values()
    for queue_id in queues:
        statements = [s for p in policies if {"Ref": queue_id} in p["Properties"]["Queues"]
                      for s in p["Properties"]["PolicyDocument"]["Statement"]]
        assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements), queue_id


@pytest.mark.parametrize("name", SERVICES)
def test_subscription_is_raw_with_its_own_dlq(template_json, name):
    queue_id = logical_id(template_json, "AWS::SQS::Queue", f"{name}Queue")
    sub_dlq_id = logical_id(template_json, "AWS::SQS::Queue", f"{name}SubscriptionDeadLetterQueue")
    [subscription] = [s["Properties"] for s in resources(template_json, "AWS::SNS::Subscription").values()
                      if s["Properties"]["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}]
    assert subscription["RawMessageDelivery"] is True
    assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [sub_dlq_id, "Arn"]}}
    # SNS may send to the subscription DLQ (CDK writes the queue policy)
    assert any(st["Effect"] == "Allow" and st["Principal"] == {"Service": "sns.amazonaws.com"}
               for p in resources(template_json, "AWS::SQS::QueuePolicy").values()
               if {"Ref": sub_dlq_id} in p["Properties"]["Queues"]
               for st in p["Properties"]["PolicyDocument"]["Statement"])
    expected_filter = EXTRAORDINARY_FILTER if name == "ExtraordinaryRides" else None
    assert subscription.get("FilterPolicy") == expected_filter
    if expected_filter:
        assert subscription["FilterPolicyScope"] == "MessageAttributes"


@pytest.mark.parametrize("name", SERVICES)
def test_consumer_function_and_event_source(template, template_json, name):
    settings = next(s for s in SETTINGS.subscribers if s.name == name)
    function_id = logical_id(template_json, "AWS::Lambda::Function", f"{name}Consumer")
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": f"{settings.handler_module}.handler.lambda_handler", "Runtime": "python3.14",
        "Architectures": ["arm64"], "TracingConfig": {"Mode": "Active"},
        "Layers": [{"Ref": "PowertoolsLayerParameter"}],
        "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp(f"^{name}ConsumerLogs")}},
        "Environment": {"Variables": Match.object_like({
            "POWERTOOLS_SERVICE_NAME": name, "FAILURE_RATE": "0.0", "RECORD_CONCURRENCY": "10",
            "EFFECT_TABLE_NAME": {"Ref": Match.string_like_regexp(f"^{name}Table")}})},
    })
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "FunctionName": {"Ref": function_id}, "BatchSize": settings.batch_size,
        "MaximumBatchingWindowInSeconds": settings.max_batching_window_seconds,
        "ScalingConfig": {"MaximumConcurrency": settings.max_concurrency},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "EventSourceArn": {"Fn::GetAtt": [logical_id(template_json, "AWS::SQS::Queue", f"{name}Queue"), "Arn"]},
    })


def test_log_groups_have_the_configured_retention(template_json):
    groups = resources(template_json, "AWS::Logs::LogGroup")
    assert len(groups) == len(SERVICES) + 2  # consumers, producer, API access logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {SETTINGS.log_retention_days}


def test_consumer_may_only_put_items_in_its_own_table_and_update_its_own_accounts(template_json):
    for name in SERVICES:
        role_id = logical_id(template_json, "AWS::IAM::Role", f"{name}ConsumerServiceRole")
        table_id = logical_id(template_json, "AWS::DynamoDB::Table", f"{name}Table")
        [policy] = [p["Properties"] for p in resources(template_json, "AWS::IAM::Policy").values()
                    if p["Properties"]["Roles"] == [{"Ref": role_id}]]
        dynamo = [s for s in policy["PolicyDocument"]["Statement"]
                  if any(a.startswith("dynamodb:") for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                             else s["Action"]))]
        # the accounting consumer's TransactWriteItems is authorized per item: PutItem (ledger), UpdateItem
        # (account); it reads nothing (a failed condition returns the account)
        accounts = [{"Action": "dynamodb:UpdateItem", "Effect": "Allow",
                     "Resource": {"Fn::GetAtt": [
            logical_id(template_json, "AWS::DynamoDB::Table", f"{name}AccountsTable"), "Arn"]}}
                    ] if name in ACCOUNTS else []
        assert dynamo == [{"Action": "dynamodb:PutItem", "Effect": "Allow",
                           "Resource": {"Fn::GetAtt": [table_id, "Arn"]}}, *accounts]


def test_only_the_accounting_service_keeps_accounts_keyed_on_the_customer(template_json):
    assert ACCOUNTS == ["CustomerAccounting"]
    [table] = [t["Properties"] for i, t in resources(template_json, "AWS::DynamoDB::Table").items()
               if i.startswith("CustomerAccountingAccountsTable")]
    assert table["KeySchema"] == [{"AttributeName": "customer", "KeyType": "HASH"}]
    [consumer] = [f["Properties"] for f in resources(template_json, "AWS::Lambda::Function").values()
                  if f["Properties"].get("Handler") == "customer_accounting.handler.lambda_handler"]
    assert "ACCOUNTS_TABLE_NAME" in consumer["Environment"]["Variables"]


def test_tables_are_on_demand_encrypted_with_point_in_time_recovery(template):
    template.resource_count_is("AWS::DynamoDB::Table", len(SERVICES) + len(ACCOUNTS) + 1)
    template.all_resources_properties("AWS::DynamoDB::Table", {
        "BillingMode": "PAY_PER_REQUEST", "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]})


def test_producer_api_and_function(template, template_json):
    template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "submit-ride-completion"})
    template.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "POST", "Integration": Match.object_like({"Type": "AWS_PROXY"})})
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "TracingEnabled": True, "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": Match.array_with([Match.object_like({
            "ThrottlingRateLimit": SETTINGS.api_rate_limit, "ThrottlingBurstLimit": SETTINGS.api_burst_limit})])})
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "unicorn_management.handler.lambda_handler", "Runtime": "python3.14",
        "Environment": {"Variables": Match.object_like({
            "TOPIC_ARN": {"Ref": logical_id(template_json, "AWS::SNS::Topic", "RideCompletionTopic")}})}})


def test_powertools_layer_is_the_pinned_version_under_a_stable_parameter_name(template_json):
    # A stable name, so that `cdk deploy --parameters PowertoolsLayerParameter=/my/name` can point elsewhere.
    [name] = [k for k, p in template_json["Parameters"].items()
              if str(p.get("Default", "")).startswith("/aws/service/powertools/")]
    assert name == "PowertoolsLayerParameter"
    parameter = template_json["Parameters"][name]
    assert (parameter["Type"], parameter["Default"]) == (
        "AWS::SSM::Parameter::Value<String>",
        f"/aws/service/powertools/python/arm64/python3.14/{SETTINGS.powertools_version}")
    functions = resources(template_json, "AWS::Lambda::Function").values()
    assert {json.dumps(f["Properties"]["Layers"]) for f in functions} == {json.dumps([{"Ref": name}])}


def test_the_account_api_gateway_logging_role_is_created_and_kept(template_json):
    # Access logs fail a fresh account's stage unless the account's API Gateway CloudWatch role is set.
    [(account_id, account)] = resources(template_json, "AWS::ApiGateway::Account").items()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template_json["Resources"][role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [{
        "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    # kept on destroy, so the account setting never points at a deleted role
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"
    [stage] = resources(template_json, "AWS::ApiGateway::Stage").values()
    assert account_id in stage["DependsOn"] and "AccessLogSetting" in stage["Properties"]


def test_an_existing_account_logging_role_is_left_alone():
    from stacks.app_factory import build_app

    _, stack = build_app(overrides={"apiGatewayCloudWatchRole": "existing"}, nag=False)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    template.resource_properties_count_is("AWS::IAM::Role", {"AssumeRolePolicyDocument": Match.object_like({
        "Statement": [Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})]})}, 0)
    template.has_resource_properties("AWS::ApiGateway::Stage", {"AccessLogSetting": Match.any_value()})


def alarms_on(template_json: dict[str, Any], metric: str, namespace: str) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(template_json, "AWS::CloudWatch::Alarm").values()
            if a["Properties"]["MetricName"] == metric and a["Properties"]["Namespace"] == namespace]


@pytest.mark.parametrize(("metric", "namespace", "count"), [
    ("ApproximateNumberOfMessagesVisible", "AWS/SQS", 3 * len(SERVICES)),  # queue, DLQ, subscription DLQ
    ("ApproximateAgeOfOldestMessage", "AWS/SQS", len(SERVICES)),
    ("Errors", "AWS/Lambda", len(SERVICES) + 1),  # consumers and the producer
    ("Throttles", "AWS/Lambda", len(SERVICES) + 1),
    ("NumberOfNotificationsFailed", "AWS/SNS", 1),
    ("5XXError", "AWS/ApiGateway", 1),
    ("Latency", "AWS/ApiGateway", 1),
    ("RidesLeftPending", "WildRydes", 1),
])
def test_alarms_exist_and_notify_the_ops_topic(template_json, metric, namespace, count):
    alarm_topic = logical_id(template_json, "AWS::SNS::Topic", "MonitoringAlarmTopic")
    found = alarms_on(template_json, metric, namespace)
    assert len(found) == count
    for alarm in found:
        assert alarm["AlarmActions"] == [{"Ref": alarm_topic}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_front_door_alarms(template_json):
    producer_id = logical_id(template_json, "AWS::Lambda::Function", "UnicornManagementSubmitRideCompletion")
    for metric in ("Errors", "Throttles"):
        [alarm] = [a for a in alarms_on(template_json, metric, "AWS/Lambda")
                   if a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": producer_id}}]]
        assert (alarm["Threshold"], alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == (
            0, "Sum", 60, 1)
    stage_id = logical_id(template_json, "AWS::ApiGateway::Stage", "UnicornManagementApiDeploymentStage")
    stage_dimensions = [{"Name": "ApiName", "Value": "WildRydesUnicornManagement"},
                        {"Name": "Stage", "Value": {"Ref": stage_id}}]
    [server_errors] = alarms_on(template_json, "5XXError", "AWS/ApiGateway")
    assert server_errors["Dimensions"] == stage_dimensions
    assert (server_errors["Threshold"], server_errors["Statistic"]) == (0, "Sum")
    [latency] = alarms_on(template_json, "Latency", "AWS/ApiGateway")
    assert latency["Dimensions"] == stage_dimensions
    assert (latency["ExtendedStatistic"], latency["Threshold"], latency["Period"], latency["EvaluationPeriods"],
            latency["DatapointsToAlarm"]) == ("p99", SETTINGS.api_latency_alarm_ms, 300, 3, 3)


def test_the_rides_left_pending_alarm_watches_what_the_producer_emits(template_json):
    from unicorn_management.logic import RIDES_LEFT_PENDING_METRIC

    producer = template_json["Resources"][logical_id(template_json, "AWS::Lambda::Function",
                                                     "UnicornManagementSubmitRideCompletion")]
    environment = producer["Properties"]["Environment"]["Variables"]
    [alarm] = alarms_on(template_json, RIDES_LEFT_PENDING_METRIC, environment["POWERTOOLS_METRICS_NAMESPACE"])
    # Powertools adds the service name as the `service` dimension of every metric
    assert alarm["Dimensions"] == [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Threshold"], alarm["Statistic"], alarm["ComparisonOperator"]) == (0, "Sum", "GreaterThanThreshold")


def test_the_dashboard_shows_the_front_door(template_json):
    [dashboard] = resources(template_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for fragment in ("Ride API requests", "5XXError", "Ride API latency", "p99", "SubmitRideCompletion",
                     "RidesLeftPending", "Front door alarms"):
        assert fragment in body, fragment


def test_dlq_alarms_fire_on_the_first_message(template_json):
    dlq_alarms = [a for a in alarms_on(template_json, "ApproximateNumberOfMessagesVisible", "AWS/SQS")
                  if "DeadLetter" in str(a["Dimensions"])]
    assert len(dlq_alarms) == 2 * len(SERVICES)
    assert {(a["Threshold"], a["ComparisonOperator"], a["EvaluationPeriods"]) for a in dlq_alarms} == {
        (0, "GreaterThanThreshold", 1)}


def test_alarm_topic_key_lets_cloudwatch_publish(template_json):
    key_id = logical_id(template_json, "AWS::KMS::Key", "MonitoringAlarmTopicKey")
    key = template_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [s for s in key["KeyPolicy"]["Statement"]
                    if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    topic = resources(template_json, "AWS::SNS::Topic")[logical_id(template_json, "AWS::SNS::Topic",
                                                                   "MonitoringAlarmTopic")]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_no_email_subscription_unless_configured(template):
    template.resource_properties_count_is("AWS::SNS::Subscription", {"Protocol": "email"}, 0)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_outputs_name_every_endpoint(template_json):
    expected = {"ApiUrl", "RideSubmitterPolicyArn", "RideCompletionTopicArn", "RidesTableName", "AlarmTopicArn",
                "ProducerFunctionName", "DashboardName"}
    for name in SERVICES:
        expected |= {f"{name}QueueUrl", f"{name}DlqUrl", f"{name}SubscriptionDlqUrl", f"{name}TableName",
                     f"{name}FunctionName"} | ({f"{name}AccountsTableName"} if name in ACCOUNTS else set())
    extra = set(template_json["Outputs"]) - expected
    assert expected <= set(template_json["Outputs"])
    assert [o for o in extra if not o.startswith("UnicornManagementApiEndpoint")] == []  # RestApi's own


def test_the_template_follows_the_configuration():
    from stacks.app_factory import build_app

    subscribers = [dict(s) for s in project_context()["wildrydes"]["subscribers"]]
    subscribers[1].update(batchSize=25, maxBatchingWindowSeconds=5, maxConcurrency=7, maxReceiveCount=8,
                          functionTimeoutSeconds=20)
    _, stack = build_app(overrides={"subscribers": subscribers, "alarmEmail": "ops@example.com",
                                    "apiLatencyAlarmMs": 1500}, nag=False)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "BatchSize": 25, "MaximumBatchingWindowInSeconds": 5, "ScalingConfig": {"MaximumConcurrency": 7}})
    template.has_resource_properties("AWS::SQS::Queue", {
        "VisibilityTimeout": 6 * 20 + 5, "RedrivePolicy": Match.object_like({"maxReceiveCount": 8})})
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "Latency", "Threshold": 1500})


def test_an_impossible_setting_stops_the_app_before_synth():
    from stacks.app_factory import build_app
    from stacks.config import ConfigError

    subscribers = [dict(s) for s in project_context()["wildrydes"]["subscribers"]]
    subscribers[0]["maxConcurrency"] = 1
    with pytest.raises(ConfigError, match="maxConcurrency: must be between 2 and 1000"):
        build_app(overrides={"subscribers": subscribers})


def test_every_topic_is_ssl_only(template_json):
    """Both topics (rides, alarms) deny plain HTTP; the count makes sure the loop has topics to look at."""
    policies = resources(template_json, "AWS::SNS::TopicPolicy").values()
    topics = resources(template_json, "AWS::SNS::Topic")
    assert len(topics) == 2, sorted(topics)
    for topic_id in topics:
        statements = [s for p in policies if {"Ref": topic_id} in p["Properties"]["Topics"]
                      for s in p["Properties"]["PolicyDocument"]["Statement"]]
        assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements), topic_id


def test_functions_run_the_newest_python_runtime_cdk_knows(template_json):
    from aws_cdk import aws_lambda as lambda_

    versions = [tuple(int(p) for p in name.split("_")[1:]) for name in dir(lambda_.Runtime)
                if name.startswith("PYTHON_3_")]
    newest = "python" + ".".join(str(p) for p in max(versions))
    runtimes = {f["Properties"]["Runtime"] for f in resources(template_json, "AWS::Lambda::Function").values()}
    assert runtimes == {newest}
    assert {tuple(f["Properties"]["Architectures"]) for f in
            resources(template_json, "AWS::Lambda::Function").values()} == {("arm64",)}
