"""Preflight of the SSM parameters the template resolves at deploy time, the Powertools layer's above all.

A parameter missing in the region makes the change set fail before anything is created. When it is
the public Powertools layer parameter, the fix names the nearest version AWS publishes in that region
and how to pin it: a check with its own lookups, apart from the account checks in ops/preflight.py.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.deploy_needs import DeployNeeds
from ops.preflight_check import Check, Status, client, error_code, error_text

POWERTOOLS_PREFIX = "/aws/service/powertools/"
POWERTOOLS_REQUIREMENT = "aws-lambda-powertools[parser,tracer]"
# How a user points a template parameter elsewhere with make (the Makefile passes it to cdk deploy).
MAKE_VARIABLES = {"PowertoolsLayerParameter": "POWERTOOLS_PARAMETER"}


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


def missing_parameter_fix(ssm: Any, parameter: str, name: str, region: str) -> str:
    variable = MAKE_VARIABLES.get(parameter)
    own = (f"put a layer ARN into your own SSM parameter and deploy with {variable}=/your/name"
           if variable else f"deploy with --parameters {parameter}=/your/name")
    if not name.startswith(POWERTOOLS_PREFIX):
        return f"create it in {region} (aws ssm put-parameter --name {name} --type String --value <ARN>), or {own}"
    directory, wanted = name.rsplit("/", 1)
    try:
        nearest = nearest_version(_published_versions(ssm, directory + "/"), wanted)
    except (BotoCoreError, ClientError) as error:
        return f"list what Powertools publishes here ({directory}/: {error_text(error)}), or {own}"
    if nearest is None:
        return f"Powertools publishes no layer under {directory}/ in {region}: use another region, or {own}"
    return (f"the nearest version published here is {nearest} ({directory}/{nearest}): pin "
            f"{POWERTOOLS_REQUIREMENT}=={nearest} in requirements.txt, then make setup and deploy again; or {own}")


def check_ssm_parameters(session: Any, needs: DeployNeeds) -> list[Check]:
    """Each SSM parameter the template resolves at deploy time exists here (else the change set fails)."""
    region, ssm, checks = session.region_name, client(session, "ssm"), []
    for parameter, name in needs.ssm_parameters.items():
        label = f"parameter {parameter}"
        try:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            checks.append(Check(label, Status.PASS, f"{name} = {value}"))
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                checks.append(Check(label, Status.FAIL, f"{name} could not be read ({error_text(error)})",
                                    "the deploy role needs ssm:GetParameter on it"))
                continue
            checks.append(Check(label, Status.FAIL, f"{name} does not exist in {region}: the change set would fail "
                                "before anything is created", missing_parameter_fix(ssm, parameter, name, region)))
        except BotoCoreError as error:
            checks.append(Check(label, Status.FAIL, f"{name} could not be read ({error_text(error)})",
                                "retry; check the network"))
    return checks
