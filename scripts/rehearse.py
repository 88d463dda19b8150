"""`make rehearse`: `make deploy` then `make destroy`, with the real CDK CLI, against moto on this machine.

The path a user takes against a sandbox account, run here against a moto server on 127.0.0.1:
synth through the app command, preflight, `cdk bootstrap`, `cdk deploy` (assets published to the
bootstrap bucket, the Powertools layer parameter passed with --parameters, a change set, the
outputs), then `cdk destroy`. moto cannot hold the public `/aws/service/...` parameter, so the
rehearsal supplies it the documented way: a stand-in layer behind an SSM parameter of its own,
passed as POWERTOOLS_PARAMETER. The moto gaps it works around are in scripts/rehearse_moto.py.

It checks that the stack reached CREATE_COMPLETE with every resource and output of the template,
and that after destroy the stack is gone and only what is kept on purpose is left (the tables and
the API Gateway logging role). Exit status 0 when all holds; `--report` writes what it saw as JSON.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape

from aws_clients import isolated_environment, session_with
from scripts.rehearse_moto import moto_fixes

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
LAYER_PARAMETER = "/wildrydes/rehearsal/powertools-layer"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"}
STEP_TIMEOUT_SECONDS = 600


@dataclass
class Step:
    command: str
    seconds: float
    exit_code: int
    output: str


@dataclass
class Rehearsal:
    stack_name: str
    steps: list[Step] = field(default_factory=list)
    status_after_deploy: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    resources: int = 0  # resources the stack listed after the deploy
    stand_ins: list[str] = field(default_factory=list)  # types moto stood in for (scripts/rehearse_moto.py)
    status_after_destroy: str = ""
    kept_after_destroy: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def supply_powertools_layer(session: Any, endpoint: str) -> str:
    """A stand-in layer and an SSM parameter holding its ARN: what a user does where AWS publishes none."""
    layer = session.client("lambda", endpoint_url=endpoint).publish_layer_version(
        LayerName="powertools-stand-in", Content={"ZipFile": _zip("README.txt", "stand-in for the Powertools layer")})
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=LAYER_PARAMETER, Value=layer["LayerVersionArn"], Type="String", Overwrite=True)
    return LAYER_PARAMETER


def make_environment(endpoint: str) -> dict[str, str]:
    """The user's environment, pointed at moto: fake credentials, no profile, no real account reachable."""
    return isolated_environment(endpoint, REGION, FAKE_CREDENTIALS)


def run_make(target: str, variables: dict[str, str], environment: dict[str, str]) -> Step:
    command = ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False,
                            timeout=STEP_TIMEOUT_SECONDS)
    return Step(" ".join(command), round(time.monotonic() - started, 1), result.returncode,
                result.stdout + result.stderr)


def _template(cdk_out: Path, stack_name: str) -> dict[str, Any]:
    return json.loads((cdk_out / f"{stack_name}.template.json").read_text())


def check_deployed(rehearsal: Rehearsal, cloudformation: Any, template: dict[str, Any]) -> None:
    from moto.cloudformation.parsing import get_model_map

    name = rehearsal.stack_name
    [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    rehearsal.status_after_deploy = stack["StackStatus"]
    rehearsal.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    listed = [r for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
              for r in page["StackResourceSummaries"]]
    rehearsal.resources = len(listed)
    rehearsal.stand_ins = sorted({r["Type"] for r in template["Resources"].values()} - set(get_model_map()))
    if rehearsal.status_after_deploy != "CREATE_COMPLETE":
        rehearsal.problems.append(f"the stack is {rehearsal.status_after_deploy}, not CREATE_COMPLETE")
    missing = sorted(set(template["Resources"]) - {r["LogicalResourceId"] for r in listed})
    if missing:
        rehearsal.problems.append(f"resources not created: {', '.join(missing)}")
    missing_outputs = sorted(set(template.get("Outputs", {})) - set(rehearsal.outputs))
    if missing_outputs:
        rehearsal.problems.append(f"outputs missing: {', '.join(missing_outputs)}")


def check_destroyed(rehearsal: Rehearsal, session: Any, endpoint: str, template: dict[str, Any]) -> None:
    try:
        [stack] = session.client("cloudformation", endpoint_url=endpoint).describe_stacks(
            StackName=rehearsal.stack_name)["Stacks"]
        rehearsal.status_after_destroy = stack["StackStatus"]
        rehearsal.problems.append(f"the stack is still there after destroy ({stack['StackStatus']})")
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        rehearsal.status_after_destroy = "gone"
    kept = {"AWS::DynamoDB::Table": session.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"],
            "AWS::IAM::Role": [r["RoleName"] for r in session.client("iam", endpoint_url=endpoint).list_roles()["Roles"]
                               if r["RoleName"].startswith(rehearsal.stack_name)],
            "AWS::Lambda::Function": [f["FunctionName"] for f in session.client(
                "lambda", endpoint_url=endpoint).list_functions()["Functions"]],
            "AWS::SQS::Queue": session.client("sqs", endpoint_url=endpoint).list_queues().get("QueueUrls", [])}
    rehearsal.kept_after_destroy = sorted(name for names in kept.values() for name in names)
    for kind, names in kept.items():
        retained = [k for k, r in template["Resources"].items() if r["Type"] == kind
                    and r.get("DeletionPolicy") == "Retain"]
        if len(names) != len(retained):
            rehearsal.problems.append(f"after destroy {len(names)} {kind} left, {len(retained)} retained on purpose")


def rehearse(*, stack_name: str = "WildRydesRehearsal", port: int = 0, say: Any = print) -> Rehearsal:
    """Start moto, supply the layer parameter, run `make deploy` and `make destroy`, check each."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    rehearsal = Rehearsal(stack_name=stack_name)
    cdk_out = Path(tempfile.mkdtemp(prefix="rehearsal-cdk.out-"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    logging.getLogger("moto").setLevel(logging.ERROR)  # "no CloudFormation support for X": stood in for
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", module="moto")
    with moto_fixes():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            # localhost, not 127.0.0.1: with an IP the CDK CLI's S3 client makes moto misread the bucket name
            endpoint = f"http://localhost:{server.get_host_and_port()[1]}"
            session = session_with(FAKE_CREDENTIALS, REGION)
            variables = {"STACK_NAME": stack_name, "CDK_OUT": str(cdk_out), "REQUIRE_APPROVAL": "never",
                         "POWERTOOLS_PARAMETER": supply_powertools_layer(session, endpoint)}
            environment = make_environment(endpoint)
            say(f"moto on {endpoint}; the layer parameter {LAYER_PARAMETER} holds a stand-in layer")
            for target, check in (("deploy", "deployed"), ("destroy", "destroyed")):
                step = run_make(target, variables if target == "deploy" else {
                    k: v for k, v in variables.items() if k in ("STACK_NAME", "CDK_OUT")}, environment)
                rehearsal.steps.append(step)
                say(f"make {target}: exit {step.exit_code} after {step.seconds} s")
                if step.exit_code != 0:
                    rehearsal.problems.append(f"make {target} failed (exit {step.exit_code})")
                    break
                template = _template(cdk_out, stack_name)
                if check == "deployed":
                    check_deployed(rehearsal, session.client("cloudformation", endpoint_url=endpoint), template)
                else:
                    check_destroyed(rehearsal, session, endpoint, template)
        finally:
            server.stop()
            shutil.rmtree(cdk_out, ignore_errors=True)
    return rehearsal


def main(
    stack_name: Annotated[str, typer.Option(help="the stack to deploy and destroy")] = "WildRydesRehearsal",
    port: Annotated[int, typer.Option(help="moto's port on 127.0.0.1 (0: a free one)")] = 0,
    report: Annotated[Path | None, typer.Option(help="write what the rehearsal saw here, as JSON")] = None,
    verbose: Annotated[bool, typer.Option(help="print the output of every make step")] = False,
) -> None:
    console = Console(soft_wrap=True)
    result = rehearse(stack_name=stack_name, port=port, say=lambda text: console.print(escape(text), highlight=False))
    for step in result.steps if verbose or not result.ok else []:
        console.print(f"--- {escape(step.command)}\n{escape(step.output)}", highlight=False)
    if result.ok:
        console.print(f"[green]✓[/] {result.stack_name}: CREATE_COMPLETE with {result.resources} resources and "
                      f"{len(result.outputs)} outputs, then destroyed; kept on purpose: "
                      f"{len(result.kept_after_destroy)} ({', '.join(result.stand_ins)} were moto stand-ins)",
                      highlight=False)
    for problem in result.problems:
        console.print(f"[red]✗[/] {escape(problem)}", highlight=False)
    if report:
        report.write_text(json.dumps(asdict(result), indent=2) + "\n")
    raise typer.Exit(0 if result.ok else 1)


if __name__ == "__main__":
    typer.run(main)
