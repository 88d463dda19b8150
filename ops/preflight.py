"""Preflight: is this account and region ready for a deploy of the synthesized stack?

A deploy that fails half-way costs minutes and leaves a stack to clean up; most causes can be seen
before: no credentials, no (or an old) CDK bootstrap, an SSM parameter the template resolves that
this region does not have (the Powertools layer), the account's API Gateway logging role, too little
Lambda concurrency, alarms nobody receives. Each check is a plain function returning a Check (what
it found and, if it is not a pass, the fix: ops/preflight_check.py); `run_preflight` runs them all, the
SSM parameters' check from ops/preflight_parameters.py among them. Every AWS call has short
timeouts and one retry, so a run takes seconds; boto3 honours AWS_ENDPOINT_URL, so tests run it
against the local cloud.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.deploy_needs import DeployNeeds
from ops.preflight_check import Check, Status, client, error_code, error_text
from ops.preflight_parameters import check_ssm_parameters

CONCURRENCY_QUOTA = "L-B99A9384"  # Service Quotas code of Lambda "Concurrent executions"
TOOLKIT_STACK = "CDKToolkit"
# States CloudFormation cannot deploy over (ROLLBACK_COMPLETE it can: the CDK deletes and recreates).
STUCK_STACK_STATES = ("ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED")

__all__ = ["concurrency_check", "run_preflight"]


def check_credentials(session: Any) -> tuple[Check, str | None]:
    """The account and region the credentials resolve to (what `cdk deploy` will use)."""
    name = "credentials"
    if not session.region_name:
        return Check(name, Status.FAIL, "no region is set",
                     "set AWS_REGION (or a region in your AWS profile): the CDK deploys to that region"), None
    try:
        identity = client(session, "sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return Check(name, Status.FAIL, f"no usable AWS credentials ({error_text(error)})",
                     "export AWS_PROFILE=<your sandbox profile> (run `aws sso login` first for an SSO profile), "
                     "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), None
    return Check(name, Status.PASS, f"account {identity['Account']} in {session.region_name}, as {identity['Arn']}"), \
        str(identity["Account"])


def check_stack(session: Any, needs: DeployNeeds) -> Check:
    name = f"stack {needs.stack_name}"
    try:
        [stack] = client(session, "cloudformation").describe_stacks(StackName=needs.stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error_text(error):
            return Check(name, Status.PASS, "does not exist yet: the deploy creates it")
        return Check(name, Status.FAIL, f"could not be read ({error_text(error)})",
                     "the deploy role needs cloudformation:DescribeStacks")
    except BotoCoreError as error:
        return Check(name, Status.FAIL, f"could not be read ({error_text(error)})", "retry; check the network")
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
        [stack] = client(session, "cloudformation").describe_stacks(StackName=TOOLKIT_STACK)["Stacks"]
    except (BotoCoreError, ClientError, ValueError):
        return f"no {TOOLKIT_STACK} stack"
    return f"{TOOLKIT_STACK} {stack['StackStatus']}"


def check_bootstrap(session: Any, needs: DeployNeeds, *, bootstrap_follows: bool = False) -> Check:
    """The CDK bootstrap of this region, against the version the template's rule requires."""
    name = "CDK bootstrap"
    if not needs.bootstrap_parameter:
        return Check(name, Status.PASS, "the template needs no bootstrap")
    try:
        version: int | None = int(client(session, "ssm").get_parameter(
            Name=needs.bootstrap_parameter)["Parameter"]["Value"])
    except ClientError as error:
        if error_code(error) != "ParameterNotFound":
            return Check(name, Status.FAIL, f"{needs.bootstrap_parameter} could not be read ({error_text(error)})",
                         "the deploy role needs ssm:GetParameter on it")
        version = None
    except (BotoCoreError, ValueError) as error:
        return Check(name, Status.FAIL, f"{needs.bootstrap_parameter} could not be read ({error_text(error)})",
                     "retry; check the network")
    wanted = f"the template needs version {needs.min_bootstrap_version} or later"
    if version is not None and version >= needs.min_bootstrap_version:
        return Check(name, Status.PASS, f"version {version} ({_toolkit(session)}); {wanted}")
    found = (f"not bootstrapped here: {needs.bootstrap_parameter} does not exist ({_toolkit(session)})"
             if version is None else f"version {version} is too old; {wanted}")
    if bootstrap_follows:
        return Check(name, Status.WARN, f"{found}; `cdk bootstrap` runs next and sets it up")
    return Check(name, Status.FAIL, found, "make bootstrap (make deploy runs it before deploying)")


def check_api_gateway_role(session: Any, needs: DeployNeeds) -> Check:
    """The account's API Gateway CloudWatch role, which access logging needs, and what the stack does to it."""
    name, region = "API Gateway logging role", session.region_name
    if not needs.logs_api_access:
        return Check(name, Status.PASS, "the stack logs no API access: no account role needed")
    try:
        role = client(session, "apigateway").get_account().get("cloudwatchRoleArn")
    except (BotoCoreError, ClientError) as error:
        return Check(name, Status.WARN, f"could not read the account's API Gateway settings ({error_text(error)})",
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
        client(session, "iam").get_role(RoleName=role.rsplit("/", 1)[-1])
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
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
        limits = client(session, "lambda").get_account_settings()["AccountLimit"]
    except (BotoCoreError, ClientError, KeyError) as error:
        return Check("Lambda concurrency", Status.WARN, f"could not read the account's Lambda settings "
                     f"({error_text(error)})", f"check the quota yourself: the stack may run "
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
        first: Check = Check("credentials", Status.FAIL, error_text(error),
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


