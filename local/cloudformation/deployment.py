"""Deploy a synthesized stack into moto (local/cloudformation/resources.py creates its resources), then read back
what the local cloud runs: functions, event source mappings, API routes and outputs. Nothing about
the topology is written in this file: every queue, subscription, filter, mapping and setting comes
from the template in cdk.out."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from cloud_assembly import BOOTSTRAP_VERSION_PARAMETER, FileAsset, Resolver, Stack, references
from local.cloudformation.resources import Provisioner
from local.cloudformation.stack_order import ProvisionError, StackEvent
from local.options import ACCOUNT

RESERVED_SSM_PREFIX = "/aws/service/"  # public SSM parameters moto refuses to hold ("reserved parameter name")
BOOTSTRAP_VERSION = "30"


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    log_group: str = ""  # LoggingConfig.LogGroup, else /aws/lambda/<name> (see `group`)
    log_format: str = "Text"  # LoggingConfig.LogFormat: Text or JSON
    application_log_level: str = ""  # LoggingConfig's (JSON only): AWS_LAMBDA_LOG_LEVEL, which Powertools honours
    system_log_level: str = ""  # LoggingConfig's (JSON only): WARN drops the platform lines

    @property
    def group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class MappingSpec:
    """An SQS event source mapping as deployed: what the local pollers honour."""

    uuid: str
    function: FunctionSpec
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int
    report_batch_item_failures: bool
    visibility_timeout_seconds: int
    max_receive_count: int | None
    dead_letter_queue_url: str | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # e.g. /submit-ride-completion
    function: FunctionSpec
    authorization: str = "NONE"  # the method's AuthorizationType: NONE or AWS_IAM (callers sign)


@dataclass
class Deployment:
    stack_name: str
    region: str
    physical_ids: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    mappings: list[MappingSpec] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    stage: str = ""
    rest_api_id: str = ""
    api_name: str = ""  # the REST API's Name: its metrics' ApiName dimension
    filter_policies: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # endpoint ARN -> policy
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter -> the value deployed
    method_settings: list[dict[str, Any]] = field(default_factory=list)  # the stage's, resolved (throttling)
    access_log_group: str = ""  # the stage's AccessLogSetting: the log group its DestinationArn names
    access_log_format: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain data, for the process that hosts moto to tell the local cloud what it deployed."""
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        functions = {k: _function(v) for k, v in data["functions"].items()}
        mappings = [MappingSpec(**{**m, "function": functions[m["function"]["logical_id"]]}) for m in data["mappings"]]
        routes = [Route(r["method"], r["path"], functions[r["function"]["logical_id"]], r.get("authorization", "NONE"))
                  for r in data["routes"]]
        return cls(**{**data, "functions": functions, "mappings": mappings, "routes": routes})


def _function(data: dict[str, Any]) -> FunctionSpec:
    return FunctionSpec(**{**data, "code_dir": Path(data["code_dir"])})


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


class Deployer:
    def __init__(self, clients: Any, region: str) -> None:
        self.aws = clients
        self.region = region
        self.zipped: dict[str, bytes] = {}  # asset hash -> its zip (the four functions share one asset)
        self.events: list[StackEvent] = []  # what the last deploy created, step by step
        self.aws_managed: dict[str, list[str]] = {}  # role name -> AWS-managed policy ARNs attached

    def _parameter_values(self, template: dict[str, Any]) -> dict[str, str]:
        """The value of every template parameter, as CloudFormation would resolve it here.

        SSM-typed parameters name a parameter to read. Two are known: the CDK bootstrap version (only the
        template's rule reads it; the local cloud deploys without the CDK's bootstrap, so it answers the
        version the rule wants and creates no SSM parameter) and the public Powertools layer, which
        gets a local layer standing for the Powertools installed in this environment: the version pinned
        in requirements.txt, the one the real layer deploys.
        """
        values: dict[str, str] = {}
        for name, parameter in template.get("Parameters", {}).items():
            default = str(parameter.get("Default", ""))
            if not parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value"):
                values[name] = default
            elif default == BOOTSTRAP_VERSION_PARAMETER:
                values[name] = BOOTSTRAP_VERSION
            elif default.startswith("/aws/service/powertools/python/"):
                values[name] = self._powertools_layer(default)
            else:
                why = "moto cannot hold it" if default.startswith(RESERVED_SSM_PREFIX) else "unknown here"
                raise DeployError(f"parameter {name} reads the SSM parameter {default}: {why}")
        return values

    def _powertools_layer(self, path: str) -> str:
        version = path.rsplit("/", 1)[-1]
        installed = metadata.version("aws-lambda-powertools")
        if version != installed:
            raise DeployError(f"the template deploys Powertools {version} but {installed} is installed here: "
                              "re-run `make synth` (or `make setup`)")
        layer = self.aws.client("lambda").publish_layer_version(
            LayerName="AWSLambdaPowertoolsPythonV3-local", Content={"ZipFile": _zip_bytes("README.txt", (
                f"Local stand-in for the public Powertools {version} layer: the local cloud runs "
                "handlers with the Powertools installed in its own Python environment.").encode())},
            Description=f"Powertools {version} (local stand-in)")
        return str(layer["LayerVersionArn"])

    @staticmethod
    def _asset(stack: Stack, properties: dict[str, Any]) -> FileAsset:
        """The directory asset in cdk.out that holds a function's code."""
        key = properties.get("Code", {}).get("S3Key")
        asset: FileAsset | None = stack.asset_for_key(key) if isinstance(key, str) else None
        if asset is None or asset.packaging != "zip":
            raise DeployError(f"a function's code ({key}) is not a directory asset in cdk.out")
        return asset

    def _code(self, stack: Stack, properties: dict[str, Any]) -> bytes:
        """A function's code as deployed: the zip of its asset directory in cdk.out."""
        asset = self._asset(stack, properties)
        if asset.asset_hash not in self.zipped:
            self.zipped[asset.asset_hash] = _zip_directory(asset.source)
        return self.zipped[asset.asset_hash]

    # -- the deployment ----------------------------------------------------------------------------
    def deploy(self, stack: Stack, environment_overrides: dict[str, str] | None = None) -> Deployment:
        """Create the stack; `environment_overrides` replace those variables in functions that have them
        (the local cloud's failure injection switch)."""
        template = dict(stack.template)
        values = self._parameter_values(template)
        template["Parameters"] = {name: {"Type": "String", "Default": value} for name, value in values.items()}
        resolver = Resolver(template, {}, region=self.region, account=ACCOUNT, stack_name=stack.name)
        provisioner = Provisioner(self.aws.client, stack_name=stack.name, region=self.region, account=ACCOUNT,
                                  function_code=lambda properties: self._code(stack, properties))
        self.events = provisioner.events
        self.aws_managed = provisioner.aws_managed
        try:
            provisioner.create_all(template, resolver)
        except ProvisionError as error:
            raise DeployError(f"{stack.name}: {error}") from error
        deployment = Deployment(stack_name=stack.name, region=self.region, physical_ids=dict(resolver.physical_ids),
                                filter_policies=provisioner.filter_policies, parameters=values)
        self._functions(stack, deployment, environment_overrides or {}, resolver)
        self._mappings(stack, deployment, resolver)
        self._routes(stack, deployment, resolver)
        deployment.outputs = {k: str(resolver.resolve(v["Value"]))
                              for k, v in stack.template.get("Outputs", {}).items()}
        return deployment

    def _functions(self, stack: Stack, deployment: Deployment, overrides: dict[str, str], resolver: Resolver) -> None:
        lambda_client = self.aws.client("lambda")
        for logical_id, resource in stack.template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            config = lambda_client.get_function_configuration(FunctionName=deployment.physical_ids[logical_id])
            asset = self._asset(stack, resource["Properties"])
            environment = dict(config.get("Environment", {}).get("Variables", {}))
            changed = {k: v for k, v in overrides.items() if k in environment and environment[k] != v}
            if changed:
                environment.update(changed)
                lambda_client.update_function_configuration(FunctionName=config["FunctionName"],
                                                            Environment={"Variables": environment})
            logging_config = resolver.resolve(resource["Properties"].get("LoggingConfig", {}))
            deployment.functions[logical_id] = FunctionSpec(
                logical_id=logical_id, name=config["FunctionName"], handler=config["Handler"],
                code_dir=asset.source, environment=environment,
                timeout_seconds=int(config.get("Timeout", 3)), memory_mb=int(config.get("MemorySize", 128)),
                log_group=str(logging_config.get("LogGroup", "")),
                log_format=str(logging_config.get("LogFormat", "Text")),
                application_log_level=str(logging_config.get("ApplicationLogLevel", "")),
                system_log_level=str(logging_config.get("SystemLogLevel", "")))

    def _mappings(self, stack: Stack, deployment: Deployment, resolver: Resolver) -> None:
        lambda_client, sqs = self.aws.client("lambda"), self.aws.client("sqs")
        by_name = {f.name: f for f in deployment.functions.values()}
        for logical_id, resource in stack.template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::EventSourceMapping":
                continue
            uuid = deployment.physical_ids[logical_id]
            mapping = lambda_client.get_event_source_mapping(UUID=uuid)
            queue_arn = mapping["EventSourceArn"]
            queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attributes.get("RedrivePolicy", "null") or "null")
            dlq_url = (sqs.get_queue_url(QueueName=redrive["deadLetterTargetArn"].rsplit(":", 1)[-1])["QueueUrl"]
                       if redrive else None)
            function_name = mapping["FunctionArn"].rsplit(":", 1)[-1]
            deployment.mappings.append(MappingSpec(
                uuid=uuid, function=by_name[function_name], queue_arn=queue_arn, queue_url=queue_url,
                batch_size=int(mapping["BatchSize"]),
                batching_window_seconds=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
                max_concurrency=int(mapping.get("ScalingConfig", {}).get("MaximumConcurrency", 1000)),
                report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
                visibility_timeout_seconds=int(attributes.get("VisibilityTimeout", 30)),
                max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                dead_letter_queue_url=dlq_url))

    def _routes(self, stack: Stack, deployment: Deployment, resolver: Resolver) -> None:
        resources = stack.template["Resources"]

        def path_of(resource_ref: Any) -> str:
            if not isinstance(resource_ref, dict) or "Ref" not in resource_ref:
                return ""  # GetAtt RestApi.RootResourceId: the root
            node = resources[resource_ref["Ref"]]["Properties"]
            return f"{path_of(node['ParentId'])}/{node['PathPart']}"

        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::ApiGateway::Stage":
                deployment.stage = resource["Properties"]["StageName"]
                api = resource["Properties"]["RestApiId"]["Ref"]
                deployment.rest_api_id = deployment.physical_ids[api]
                deployment.api_name = str(resolver.resolve(resources[api]["Properties"].get("Name", api)))
                deployment.method_settings = list(resolver.resolve(resource["Properties"].get("MethodSettings", [])))
                access = resolver.resolve(resource["Properties"].get("AccessLogSetting", {}))
                if access.get("DestinationArn"):  # arn:aws:logs:region:account:log-group:NAME (a group only)
                    deployment.access_log_group = str(access["DestinationArn"]).split(":log-group:", 1)[-1]
                    deployment.access_log_group = deployment.access_log_group.removesuffix(":*")
                    deployment.access_log_format = str(access.get("Format", ""))
            if resource["Type"] != "AWS::ApiGateway::Method":
                continue
            properties = resource["Properties"]
            integration = properties.get("Integration", {})
            targets = sorted(set(references(integration.get("Uri"))) & set(deployment.functions))
            if integration.get("Type") != "AWS_PROXY" or len(targets) != 1:
                raise DeployError(f"{logical_id}: only Lambda proxy integrations are served locally")
            authorization = str(properties.get("AuthorizationType", "NONE"))
            if authorization not in ("NONE", "AWS_IAM"):
                raise DeployError(f"{logical_id}: AuthorizationType {authorization} is not served locally "
                                  "(NONE and AWS_IAM are)")
            deployment.routes.append(Route(method=properties["HttpMethod"], path=path_of(properties["ResourceId"]),
                                           function=deployment.functions[targets[0]], authorization=authorization))


def _zip_bytes(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()

