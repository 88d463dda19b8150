"""Preflight: is this account and region ready for a deploy of the synthesized stack?

A deploy that fails half-way costs minutes and leaves a stack to clean up; most causes can be seen
before: no credentials, no (or an old) CDK bootstrap, an SSM parameter the template resolves that
this region does not have (the Powertools layer), the account's API Gateway logging role, too little
Lambda concurrency, alarms nobody receives. Each check is a plain function returning a Check (what
it found and, if it is not a pass, the fix); `run_preflight` runs them all. Every AWS call has short
timeouts and one retry, so a run takes seconds; boto3 honours AWS_ENDPOINT_URL, so tests run it
against the local cloud.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ops.deploy_needs import DeployNeeds

CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
POWERTOOLS_PREFIX = "/aws/service/powertools/"
POWERTOOLS_REQUIREMENT = "aws-lambda-powertools[parser,tracer]"
# How a user points a template parameter elsewhere with make (the Makefile passes it to cdk deploy).
MAKE_VARIABLES = {"PowertoolsLayerParameter": "POWERTOOLS_PARAMETER"}
CONCURRENCY_QUOTA = "L-B99A9384"  # Service Quotas code of Lambda "Concurrent executions"
TOOLKIT_STACK = "CDKToolkit"
# States CloudFormation cannot deploy over (ROLLBACK_COMPLETE it can: the CDK deletes and recreates).
STUCK_STACK_STATES = ("ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED")
MAX_DETAIL = 200

__all__ = ["Check", "Status", "concurrency_check", "nearest_version", "run_preflight"]


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"  # the deploy works, but something needs a decision
    FAIL = "fail"  # the deploy would fail, or leave a broken stack
    SKIP = "skip"  # not checked (no credentials)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        found = error.response.get("Error", {})
        message = str(found.get("Message", ""))
        if message.lstrip().startswith("<"):  # an HTML page, not an AWS error: the endpoint lacks the API
            message = "the endpoint does not offer this API"
        text = f"{found.get('Code', 'Error')}: {message}"
    else:
        text = str(error) or type(error).__name__
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL else line[:MAX_DETAIL] + "…"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _client(session: Any, name: str) -> Any:
    return session.client(name, config=CLIENT_CONFIG)


def check_credentials(session: Any) -> tuple[Check, str | None]:
    """The account and region the credentials resolve to (what `cdk deploy` will use)."""
    name = "credentials"
    if not session.region_name:
        return Check(name, Status.FAIL, "no region is set",
                     "set AWS_REGION (or a region in your AWS profile): the CDK deploys to that region"), None
    try:
        identity = _client(session, "sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return Check(name, Status.FAIL, f"no usable AWS credentials ({_error_text(error)})",
                     "export AWS_PROFILE=<your sandbox profile> (run `aws sso login` first for an SSO profile), "
                     "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), None
    return Check(name, Status.PASS, f"account {identity['Account']} in {session.region_name}, as {identity['Arn']}"), \
        str(identity["Account"])


def check_stack(session: Any, needs: DeployNeeds) -> Check:
    name = f"stack {needs.stack_name}"
    try:
        [stack] = _client(session, "cloudformation").describe_stacks(StackName=needs.stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in _error_text(error):
            return Check(name, Status.PASS, "does not exist yet: the deploy creates it")
        return Check(name, Status.FAIL, f"could not be read ({_error_text(error)})",
                     "the deploy role needs cloudformation:DescribeStacks")
    except BotoCoreError as error:
        return Check(name, Status.FAIL, f"could not be read ({_error_text(error)})", "retry; check the network")
    status = str(stack["StackStatus"])
    if status in STUCK_STACK_STATES:
        return Check(name, Status.FAIL, f"is {status}: CloudFormation cannot deploy over it",
                     f"look at its events in the console, fix the cause, then delete it (make destroy "
                     f"STACK_NAME={needs.stack_name}) and deploy again")
    if status.endswith("_IN_PROGRESS"):
        return Check(name, Status.FAIL, f"is busy ({status})", "wait until it settles, then deploy")
    if status == "ROLLBACK_COMPLETE":
        return Check(name, Status.WARN, "is ROLLBACK_COMPLETE (its creation failed): the deploy deletes it and "
                     "creates it again", "see why it failed in its events before deploying the same thing again")
    return Check(name, Status.PASS, f"exists ({status}): the deploy updates it")


def _toolkit(session: Any) -> str:
    try:
        [stack] = _client(session, "cloudformation").describe_stacks(StackName=TOOLKIT_STACK)["Stacks"]
    except (BotoCoreError, ClientError, ValueError):
        return f"no {TOOLKIT_STACK} stack"
    return f"{TOOLKIT_STACK} {stack['StackStatus']}"


def check_bootstrap(session: Any, needs: DeployNeeds, *, bootstrap_follows: bool = False) -> Check:
    """The CDK bootstrap of this region, against the version the template's rule requires."""
    name = "CDK bootstrap"
    if not needs.bootstrap_parameter:
        return Check(name, Status.PASS, "the template needs no bootstrap")
    try:
        version: int | None = int(_client(session, "ssm").get_parameter(
            Name=needs.bootstrap_parameter)["Parameter"]["Value"])
    except ClientError as error:
        if _code(error) != "ParameterNotFound":
            return Check(name, Status.FAIL, f"{needs.bootstrap_parameter} could not be read ({_error_text(error)})",
                         "the deploy role needs ssm:GetParameter on it")
        version = None
    except (BotoCoreError, ValueError) as error:
        return Check(name, Status.FAIL, f"{needs.bootstrap_parameter} could not be read ({_error_text(error)})",
                     "retry; check the network")
    wanted = f"the template needs version {needs.min_bootstrap_version} or later"
    if version is not None and version >= needs.min_bootstrap_version:
        return Check(name, Status.PASS, f"version {version} ({_toolkit(session)}); {wanted}")
    found = (f"not bootstrapped here: {needs.bootstrap_parameter} does not exist ({_toolkit(session)})"
             if version is None else f"version {version} is too old; {wanted}")
    if bootstrap_follows:
        return Check(name, Status.WARN, f"{found}; `cdk bootstrap` runs next and sets it up")
    return Check(name, Status.FAIL, found, "make bootstrap (make deploy runs it before deploying)")


def nearest_version(published: list[str], wanted: str) -> str | None:
    """The published version closest to `wanted`: the newest older one, else the oldest newer one."""
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    versions = [v for v in published if v.replace(".", "").isdigit() and v.count(".") == 2]
    if not versions or not wanted.replace(".", "").isdigit():
        return None
    older = [v for v in versions if key(v) <= key(wanted)]
    return max(older, key=key) if older else min(versions, key=key)


def _published_versions(ssm: Any, directory: str) -> list[str]:
    names: list[str] = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=directory, Recursive=False):
        names += [p["Name"].rsplit("/", 1)[-1] for p in page.get("Parameters", [])]
    return names


def _missing_parameter_fix(ssm: Any, parameter: str, name: str, region: str) -> str:
    variable = MAKE_VARIABLES.get(parameter)
    own = (f"put a layer ARN into your own SSM parameter and deploy with {variable}=/your/name"
           if variable else f"deploy with --parameters {parameter}=/your/name")
    if not name.startswith(POWERTOOLS_PREFIX):
        return f"create it in {region} (aws ssm put-parameter --name {name} --type String --value <ARN>), or {own}"
    directory, wanted = name.rsplit("/", 1)
    try:
        nearest = nearest_version(_published_versions(ssm, directory + "/"), wanted)
    except (BotoCoreError, ClientError) as error:
        return f"list what Powertools publishes here ({directory}/: {_error_text(error)}), or {own}"
    if nearest is None:
        return f"Powertools publishes no layer under {directory}/ in {region}: use another region, or {own}"
    return (f"the nearest version published here is {nearest} ({directory}/{nearest}): pin "
            f"{POWERTOOLS_REQUIREMENT}=={nearest} in requirements.txt, then make setup and deploy again; or {own}")


def check_ssm_parameters(session: Any, needs: DeployNeeds) -> list[Check]:
    """Each SSM parameter the template resolves at deploy time exists here (else the change set fails)."""
    region, ssm, checks = session.region_name, _client(session, "ssm"), []
    for parameter, name in needs.ssm_parameters.items():
        label = f"parameter {parameter}"
        try:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            checks.append(Check(label, Status.PASS, f"{name} = {value}"))
        except ClientError as error:
            if _code(error) != "ParameterNotFound":
                checks.append(Check(label, Status.FAIL, f"{name} could not be read ({_error_text(error)})",
                                    "the deploy role needs ssm:GetParameter on it"))
                continue
            checks.append(Check(label, Status.FAIL, f"{name} does not exist in {region}: the change set would fail "
                                "before anything is created", _missing_parameter_fix(ssm, parameter, name, region)))
        except BotoCoreError as error:
            checks.append(Check(label, Status.FAIL, f"{name} could not be read ({_error_text(error)})",
                                "retry; check the network"))
    return checks


def check_api_gateway_role(session: Any, needs: DeployNeeds) -> Check:
    """The account's API Gateway CloudWatch role, which access logging needs, and what the stack does to it."""
    name, region = "API Gateway logging role", session.region_name
    if not needs.logs_api_access:
        return Check(name, Status.PASS, "the stack logs no API access: no account role needed")
    try:
        role = _client(session, "apigateway").get_account().get("cloudwatchRoleArn")
    except (BotoCoreError, ClientError) as error:
        return Check(name, Status.WARN, f"could not read the account's API Gateway settings ({_error_text(error)})",
                     "the deploy role needs apigateway:GET on /account")
    if needs.sets_api_gateway_role:
        if not role:
            return Check(name, Status.PASS, f"not set in {region} (a fresh account): the stack creates the role and "
                         "sets it, account-wide for this region, and keeps both on destroy")
        if role.rsplit("/", 1)[-1].startswith(f"{needs.stack_name}-"):
            return Check(name, Status.PASS, f"set by an earlier deploy of this stack ({role})")
        return Check(name, Status.WARN, f"set to {role}; the stack will replace it, account-wide for {region}, with "
                     "a role it creates", "if that role is managed elsewhere (e.g. by your organisation), set "
                     'apiGatewayCloudWatchRole to "existing" in cdk.json')
    fix = ('set apiGatewayCloudWatchRole to "create" in cdk.json so the stack sets it, or ask your administrator '
           "to set the account's API Gateway CloudWatch role")
    if not role:
        return Check(name, Status.FAIL, f"not set in {region}: the API stage would fail to create (\"CloudWatch Logs "
                     "role ARN must be set in account settings\")", fix)
    try:
        _client(session, "iam").get_role(RoleName=role.rsplit("/", 1)[-1])
    except ClientError as error:
        if _code(error) == "NoSuchEntity":
            return Check(name, Status.FAIL, f"set to {role}, which no longer exists", fix)
    except BotoCoreError:
        pass  # the role is set; whether it still exists is a nicety
    return Check(name, Status.PASS, f"set to {role}: left alone (apiGatewayCloudWatchRole: existing)")


def concurrency_check(limit: int, unreserved: int, needs: DeployNeeds) -> Check:
    """The account's unreserved Lambda concurrency against what the stack may run at once."""
    name = "Lambda concurrency"
    needed = needs.mapping_concurrency + needs.functions_without_mapping
    what = (f"the stack may run {needed} at once (consumers' maxConcurrency {needs.mapping_concurrency} + "
            f"{needs.functions_without_mapping} for the API)")
    fix = (f"ask for more (Service Quotas, AWS Lambda 'Concurrent executions', {CONCURRENCY_QUOTA}), or lower "
           "maxConcurrency in cdk.json")
    if needs.unbounded_mappings:
        return Check(name, Status.WARN, f"{needs.unbounded_mappings} event source mapping(s) have no maximum "
                     f"concurrency; the account allows {unreserved} of {limit}", "set maxConcurrency")
    if needed > unreserved:
        return Check(name, Status.WARN, f"{what}, but the account allows {unreserved} (limit {limit}): functions "
                     "will be throttled under load", fix)
    return Check(name, Status.PASS, f"{what}; the account allows {unreserved} (limit {limit})")


def check_lambda_concurrency(session: Any, needs: DeployNeeds) -> Check:
    try:
        limits = _client(session, "lambda").get_account_settings()["AccountLimit"]
    except (BotoCoreError, ClientError, KeyError) as error:
        return Check("Lambda concurrency", Status.WARN, f"could not read the account's Lambda settings "
                     f"({_error_text(error)})", f"check the quota yourself: the stack may run "
                     f"{needs.mapping_concurrency + needs.functions_without_mapping} at once")
    return concurrency_check(int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"]), needs)


def check_alarm_email(needs: DeployNeeds) -> Check:
    name = "alarm email"
    if needs.alarm_emails:
        return Check(name, Status.PASS, f"alarms go to {', '.join(needs.alarm_emails)} (confirm the subscription "
                     "email AWS sends after the deploy)")
    return Check(name, Status.WARN, "alarmEmail is empty: alarms go to the ops topic and NOBODY is told",
                 "set alarmEmail in cdk.json (or make deploy ALARM_EMAIL=you@example.com)")


def check_api_authorization(needs: DeployNeeds) -> Check:
    name = "API authorization"
    if needs.public_methods:
        return Check(name, Status.WARN, f"{needs.public_methods} API method(s) are PUBLIC (apiAuthorization: "
                     "none): anyone with the URL may write rides", 'set apiAuthorization to "iam" in cdk.json')
    if needs.signed_methods:
        return Check(name, Status.PASS, "IAM: callers sign (SigV4) and need the RideSubmitter policy "
                     "(output RideSubmitterPolicyArn)")
    return Check(name, Status.PASS, "the stack has no API")


def run_preflight(needs: DeployNeeds, session: Any = None, *, bootstrap_follows: bool = False) -> list[Check]:
    """Every check, in the order a deploy meets them; without credentials the account checks are skipped."""
    try:  # the region as the CDK CLI resolves it: AWS_REGION first, then what boto3 finds
        session = session or boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    except BotoCoreError as error:  # e.g. AWS_PROFILE names no profile
        first: Check = Check("credentials", Status.FAIL, _error_text(error),
                             "export AWS_PROFILE=<a profile in ~/.aws/config>")
        account = None
    else:
        first, account = check_credentials(session)
    account_checks: list[Callable[[], Check | list[Check]]] = [
        lambda: check_stack(session, needs),
        lambda: check_bootstrap(session, needs, bootstrap_follows=bootstrap_follows),
        lambda: check_ssm_parameters(session, needs),
        lambda: check_api_gateway_role(session, needs),
        lambda: check_lambda_concurrency(session, needs),
    ]
    checks = [first]
    if account is None:
        checks.append(Check("account checks", Status.SKIP, "need credentials"))
    else:
        for run in account_checks:
            found = run()
            checks += found if isinstance(found, list) else [found]
    return [*checks, check_api_authorization(needs), check_alarm_email(needs)]


def failed(checks: list[Check]) -> bool:
    return any(check.status is Status.FAIL for check in checks)
