"""The local CloudFormation: creates each resource of the synthesized template through the local AWS APIs.

Why not moto's own CloudFormation: importing it loads thirty of moto's services (EC2's AMI, region
and instance-type data among them) for a template that uses ten, which alone took most of the two
seconds the local cloud may take to be ready, and it skips six of this template's types anyway
(subscriptions, queue and topic policies, alarms, the dashboard, the API Gateway account).

Here every resource is created in dependency order (Ref, Fn::GetAtt, Fn::Sub and DependsOn), with its
properties resolved to the physical ids and attributes of what was created before it, and named as
CloudFormation names what has no name of its own (`<stack>-<logical id>-<13 random characters>`). A type
this file does not know stops the deploy with its name: the local cloud never guesses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cloud_assembly import Resolver, as_json_string
from local.cloudformation.stack_order import NAME_LIMITS, ProvisionError, StackEvent, creation_order, physical_name

Created = tuple[str, dict[str, str]]  # physical id, Fn::GetAtt attributes


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in properties.get("Tags", [])]


def _tag_map(properties: dict[str, Any]) -> dict[str, str]:
    """The tags as the APIs that take a map want them (SQS, Logs, Lambda, API Gateway)."""
    return {t["Key"]: t["Value"] for t in _tags(properties)}


class Provisioner:
    """Creates resources of the types this template uses; `creators` maps a type to its creator."""

    def __init__(self, client: Callable[[str], Any], *, stack_name: str, region: str, account: str,
                 function_code: Callable[[dict[str, Any]], bytes]) -> None:
        self.client, self.stack, self.region, self.account = client, stack_name, region, account
        self.function_code = function_code
        self.filter_policies: dict[str, dict[str, Any] | None] = {}  # subscription endpoint -> its filter policy
        self.events: list[StackEvent] = []  # oldest first
        self.aws_managed: dict[str, list[str]] = {}  # role name -> the AWS-managed policies the template attaches
        self.creators: dict[str, Callable[[str, dict[str, Any]], Created]] = {
            "AWS::KMS::Key": self._key, "AWS::SNS::Topic": self._topic, "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table, "AWS::Logs::LogGroup": self._log_group, "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy, "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Permission": self._permission, "AWS::Lambda::EventSourceMapping": self._event_source,
            "AWS::SNS::TopicPolicy": self._topic_policy, "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::SNS::Subscription": self._subscription, "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard, "AWS::ApiGateway::RestApi": self._rest_api,
            "AWS::ApiGateway::Resource": self._api_resource, "AWS::ApiGateway::Method": self._api_method,
            "AWS::ApiGateway::Deployment": self._api_deployment, "AWS::ApiGateway::Stage": self._api_stage,
            "AWS::ApiGateway::Account": self._api_account, "AWS::CDK::Metadata": self._metadata,
        }

    def create_all(self, template: dict[str, Any], resolver: Resolver) -> None:
        resources = template["Resources"]
        unknown = sorted({r["Type"] for r in resources.values()} - set(self.creators))
        if unknown:
            raise ProvisionError(f"the local cloud cannot create {', '.join(unknown)}: add a creator for it to "
                                 "local/cloudformation/resources.py")
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            properties = resolver.resolve(resource.get("Properties", {}))
            self.events.append(StackEvent(logical_id, resource["Type"], "", "CREATE_IN_PROGRESS", datetime.now(UTC)))
            try:
                physical, attributes = self.creators[resource["Type"]](logical_id, properties)
            except Exception as error:
                raise ProvisionError(f"{logical_id} ({resource['Type']}): {error}") from error
            self.events.append(StackEvent(logical_id, resource["Type"], physical, "CREATE_COMPLETE", datetime.now(UTC)))
            resolver.physical_ids[logical_id] = physical
            resolver.attributes.update({(logical_id, name): value for name, value in attributes.items()})

    def _name(self, logical_id: str, kind: str) -> str:
        return physical_name(self.stack, logical_id, NAME_LIMITS[kind])

    def _fifo_name(self, logical_id: str, kind: str, fifo: bool) -> str:
        return f"{physical_name(self.stack, logical_id, NAME_LIMITS[kind] - 5)}.fifo" if fifo else self._name(
            logical_id, kind)

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    # -- one creator per type: (logical id, resolved properties) -> (physical id, attributes) ----------
    def _key(self, logical_id: str, p: dict[str, Any]) -> Created:
        key = self.client("kms").create_key(
            Description=p.get("Description", ""), Policy=as_json_string(p["KeyPolicy"]),
            KeyUsage=p.get("KeyUsage", "ENCRYPT_DECRYPT"), KeySpec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
            Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(p)])["KeyMetadata"]
        if p.get("EnableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]}

    def _topic(self, logical_id: str, p: dict[str, Any]) -> Created:
        attributes = {k: str(p[k]).lower() if isinstance(p[k], bool) else str(p[k])
                      for k in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication") if k in p}
        arn = self.client("sns").create_topic(Name=p.get("TopicName") or self._name(logical_id, "AWS::SNS::Topic"),
                                              Attributes=attributes, Tags=_tags(p))["TopicArn"]
        return arn, {"TopicArn": arn, "TopicName": arn.rsplit(":", 1)[-1]}

    def _queue(self, logical_id: str, p: dict[str, Any]) -> Created:
        attributes = {k: as_json_string(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
                      for k, v in p.items() if k not in ("QueueName", "Tags")}
        # CloudFormation names a FIFO queue without a name of its own `*.fifo`, as SQS requires
        name = p.get("QueueName") or self._fifo_name(logical_id, "AWS::SQS::Queue", bool(p.get("FifoQueue")))
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes,
                                              tags=_tag_map(p))["QueueUrl"]
        return url, {"Arn": self._arn("sqs", name), "QueueName": name, "QueueUrl": url}

    def _table(self, logical_id: str, p: dict[str, Any]) -> Created:
        name = p.get("TableName") or self._name(logical_id, "AWS::DynamoDB::Table")
        arguments = {k: p[k] for k in ("KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                                        "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification")
                     if k in p}
        if "SSESpecification" in p:
            arguments["SSESpecification"] = {"Enabled": bool(p["SSESpecification"].get("SSEEnabled"))}
        table = self.client("dynamodb").create_table(TableName=name, Tags=_tags(p), **arguments)["TableDescription"]
        if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            self.client("dynamodb").update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        return name, {"Arn": table["TableArn"], **({"StreamArn": table["LatestStreamArn"]}
                                                    if "LatestStreamArn" in table else {})}

    def _log_group(self, logical_id: str, p: dict[str, Any]) -> Created:
        name = p.get("LogGroupName") or self._name(logical_id, "AWS::Logs::LogGroup")
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name, tags=_tag_map(p))
        if "RetentionInDays" in p:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
        return name, {"Arn": self._arn("logs", f"log-group:{name}:*")}

    def _role(self, logical_id: str, p: dict[str, Any]) -> Created:
        iam = self.client("iam")
        name = p.get("RoleName") or self._name(logical_id, "AWS::IAM::Role")
        role = iam.create_role(RoleName=name, Path=p.get("Path", "/"), Tags=_tags(p),
                               AssumeRolePolicyDocument=as_json_string(p["AssumeRolePolicyDocument"]))["Role"]
        for policy in p.get("Policies", []):
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                PolicyDocument=as_json_string(policy["PolicyDocument"]))
        for arn in p.get("ManagedPolicyArns", []):
            if ":iam::aws:policy/" in arn:  # moto builds AWS's 1,500 managed policies on first attach (0.4 s):
                self.aws_managed.setdefault(name, []).append(arn)  # enforced from moto's copy of the documents
                continue
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def _policy(self, logical_id: str, p: dict[str, Any]) -> Created:
        for role in p.get("Roles", []):
            self.client("iam").put_role_policy(RoleName=role, PolicyName=p["PolicyName"],
                                               PolicyDocument=as_json_string(p["PolicyDocument"]))
        return f"{self.stack}-{logical_id}", {}

    def _managed_policy(self, logical_id: str, p: dict[str, Any]) -> Created:
        """Ref is the policy's ARN, as CloudFormation gives it; attached to the roles, users and groups listed."""
        iam = self.client("iam")
        name = p.get("ManagedPolicyName") or self._name(logical_id, "AWS::IAM::ManagedPolicy")
        arn = iam.create_policy(PolicyName=name, Path=p.get("Path", "/"), Description=p.get("Description", ""),
                                PolicyDocument=as_json_string(p["PolicyDocument"]))["Policy"]["Arn"]
        for role in p.get("Roles", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        for user in p.get("Users", []):
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
        for group in p.get("Groups", []):
            iam.attach_group_policy(GroupName=group, PolicyArn=arn)
        return arn, {"PolicyArn": arn}

    def _function(self, logical_id: str, p: dict[str, Any]) -> Created:
        name = p.get("FunctionName") or self._name(logical_id, "AWS::Lambda::Function")
        arguments = {k: p[k] for k in ("Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize", "Layers",
                                        "Architectures", "TracingConfig", "LoggingConfig") if k in p}
        if "Environment" in p:
            arguments["Environment"] = {"Variables": {k: str(v) for k, v in p["Environment"]["Variables"].items()}}
        function = self.client("lambda").create_function(FunctionName=name, Code={"ZipFile": self.function_code(p)},
                                                         Tags=_tag_map(p), **arguments)
        if "ReservedConcurrentExecutions" in p:
            self.client("lambda").put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=int(p["ReservedConcurrentExecutions"]))
        return name, {"Arn": function["FunctionArn"]}

    def _permission(self, logical_id: str, p: dict[str, Any]) -> Created:
        arguments = {k: p[k] for k in ("Action", "Principal", "SourceArn", "SourceAccount") if k in p}
        self.client("lambda").add_permission(FunctionName=p["FunctionName"], StatementId=logical_id[:100], **arguments)
        return logical_id, {}

    def _event_source(self, logical_id: str, p: dict[str, Any]) -> Created:
        # As the template says (enabled unless it says otherwise); local/event_source_mappings.py runs it.
        arguments = {k: p[k] for k in ("EventSourceArn", "FunctionName", "BatchSize", "MaximumBatchingWindowInSeconds",
                                        "FunctionResponseTypes", "ScalingConfig", "Enabled") if k in p}
        mapping = self.client("lambda").create_event_source_mapping(**arguments)
        return str(mapping["UUID"]), {}

    def _topic_policy(self, logical_id: str, p: dict[str, Any]) -> Created:
        for topic_arn in p["Topics"]:
            self.client("sns").set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy",
                                                    AttributeValue=as_json_string(p["PolicyDocument"]))
        return f"{self.stack}-{logical_id}", {}

    def _queue_policy(self, logical_id: str, p: dict[str, Any]) -> Created:
        for queue_url in p["Queues"]:
            self.client("sqs").set_queue_attributes(QueueUrl=queue_url,
                                                    Attributes={"Policy": as_json_string(p["PolicyDocument"])})
        return f"{self.stack}-{logical_id}", {}

    def _subscription(self, logical_id: str, p: dict[str, Any]) -> Created:
        attributes = {"RawMessageDelivery": str(p.get("RawMessageDelivery", False)).lower()}
        for name in ("FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy"):
            if name in p:
                attributes[name] = as_json_string(p[name])
        self.filter_policies[p["Endpoint"]] = p.get("FilterPolicy")
        arn = self.client("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"],
                                           Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        return str(arn), {}

    def _alarm(self, logical_id: str, p: dict[str, Any]) -> Created:
        name = p.get("AlarmName") or physical_name(self.stack, logical_id, 255)
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **{k: v for k, v in p.items() if k != "AlarmName"})
        return name, {"Arn": self._arn("cloudwatch", f"alarm:{name}")}

    def _dashboard(self, logical_id: str, p: dict[str, Any]) -> Created:
        name = p.get("DashboardName") or f"{self.stack}-{logical_id}"
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=p["DashboardBody"])
        return name, {}

    def _rest_api(self, logical_id: str, p: dict[str, Any]) -> Created:
        api = self.client("apigateway").create_rest_api(
            name=p["Name"], endpointConfiguration={"types": p.get("EndpointConfiguration", {}).get("Types", [])},
            tags=_tag_map(p))
        root = self.client("apigateway").get_resources(restApiId=api["id"])["items"][0]["id"]
        return str(api["id"]), {"RootResourceId": root}

    def _api_resource(self, logical_id: str, p: dict[str, Any]) -> Created:
        resource = self.client("apigateway").create_resource(restApiId=p["RestApiId"], parentId=p["ParentId"],
                                                             pathPart=p["PathPart"])
        return str(resource["id"]), {"ResourceId": resource["id"]}

    def _api_method(self, logical_id: str, p: dict[str, Any]) -> Created:
        apigateway = self.client("apigateway")
        where = {"restApiId": p["RestApiId"], "resourceId": p["ResourceId"], "httpMethod": p["HttpMethod"]}
        apigateway.put_method(**where, authorizationType=p.get("AuthorizationType", "NONE"))
        integration = p.get("Integration")
        if integration:
            apigateway.put_integration(**where, type=integration["Type"], uri=integration.get("Uri", ""),
                                       integrationHttpMethod=integration.get("IntegrationHttpMethod", "POST"))
        return f"{self.stack}-{logical_id}", {}

    def _api_deployment(self, logical_id: str, p: dict[str, Any]) -> Created:
        deployment = self.client("apigateway").create_deployment(restApiId=p["RestApiId"],
                                                                 description=p.get("Description", ""))
        return str(deployment["id"]), {"DeploymentId": deployment["id"]}

    def _api_stage(self, logical_id: str, p: dict[str, Any]) -> Created:
        self.client("apigateway").create_stage(restApiId=p["RestApiId"], stageName=p["StageName"],
                                               deploymentId=p["DeploymentId"], tracingEnabled=bool(
                                                   p.get("TracingEnabled", False)))
        return str(p["StageName"]), {}

    def _api_account(self, logical_id: str, p: dict[str, Any]) -> Created:
        self.client("apigateway").update_account(patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}])
        return f"{self.stack}-{logical_id}", {}

    def _metadata(self, logical_id: str, p: dict[str, Any]) -> Created:
        return f"{self.stack}-{logical_id}", {}
