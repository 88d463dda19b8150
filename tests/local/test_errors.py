"""Clear errors: no cdk.out, a stale one, a port in use, a handler that raises on import."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from aws_clients.control import ControlError
from cloud_assembly import AssemblyError, changed_since_synth, load_assembly
from local.cloud import LocalCloud, LocalCloudError, LocalCloudOptions
from local.cloud_controls import CloudControls
from stacks.app_factory import project_context
from tests.conftest import synthesize
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, messages_kept, post_ride, start_cloud, wait_for

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)


def test_missing_cdk_out_says_to_synthesize(tmp_path: Path):
    with pytest.raises(AssemblyError, match="run `make synth`"):
        load_assembly(tmp_path / "cdk.out")


def test_a_source_changed_after_synth_makes_cdk_out_stale(tmp_path: Path, cloud_assembly: Path):
    root = tmp_path / "project"
    (root / "lambdas").mkdir(parents=True)
    cdk_out = root / "cdk.out"
    shutil.copytree(cloud_assembly, cdk_out)
    assert changed_since_synth(cdk_out, root) == []
    handler = root / "lambdas" / "handler.py"
    handler.write_text("x = 1\n")
    later = (cdk_out / "manifest.json").stat().st_mtime + 10
    os.utime(handler, (later, later))
    assert changed_since_synth(cdk_out, root) == [handler]


def test_port_in_use_is_named(cloud_assembly: Path, tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cloud = LocalCloud(LocalCloudOptions(cdk_out=cloud_assembly, api_port=port, aws_port=0, log_dir=tmp_path))
        with pytest.raises(LocalCloudError, match=f"port {port} on 127.0.0.1 \\(the local API\\) is in use"):
            cloud.start()


def test_commands_say_why_they_cannot_start_and_exit_2(tmp_path: Path, capsys):
    from scripts import demo, local_cloud

    missing = str(tmp_path / "nowhere")
    assert local_cloud.main(["--cdk-out", missing, "--endpoints-file", str(tmp_path / "e.json")]) == 2
    assert demo.main(["--cdk-out", missing]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [f"error: {missing} holds no synthesized app (no manifest.json): run `make synth` first"] * 2


def test_handler_raising_on_import_is_reported_and_loses_nothing(cloud_assembly: Path, tmp_path: Path):
    broken = tmp_path / "cdk.out"
    shutil.copytree(cloud_assembly, broken)
    [asset] = [p for p in broken.glob("asset.*") if (p / "customer_notification").is_dir()]
    handler = asset / "customer_notification" / "handler.py"
    handler.write_text('raise RuntimeError("boom at import")\n' + handler.read_text())
    cloud = start_cloud(broken, tmp_path / "logs", allow_stale=True)
    try:
        sqs = cloud.clients.client("sqs")
        url = cloud.outputs["CustomerNotificationQueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody='{"id": "r"}')
        [error] = wait_for(lambda: cloud.errors, what="the import error")
        assert "handler customer_notification.handler.lambda_handler raised on import" in error
        assert "RuntimeError: boom at import" in error
        time.sleep(0.5)
        assert messages_kept(cloud, "CustomerNotification") == 1  # still in the queue, or in the DLQ
    finally:
        cloud.stop()


def test_a_handler_that_times_out_is_stopped_and_loses_nothing(tmp_path: Path):
    """The handler is cut off at its timeout (not merely reported): checked after it would have written its
    effect had it gone on, and the ride is kept in the queue or its DLQ."""
    # Given CustomerNotification with a 1 s timeout, and a handler that takes 3 s
    subscribers = [dict(s) for s in project_context()["wildrydes"]["subscribers"]]
    subscribers[0]["functionTimeoutSeconds"] = 1
    cdk_out = tmp_path / "cdk.out"
    synthesize(cdk_out, overrides={"subscribers": subscribers})
    [asset] = [p for p in cdk_out.glob("asset.*") if (p / "customer_notification").is_dir()]
    handler = asset / "customer_notification" / "handler.py"
    handler.write_text(handler.read_text() + (
        "\n_handle = lambda_handler\n\n\ndef lambda_handler(event, context):\n"
        "    import time\n    time.sleep(3)\n    return _handle(event, context)\n"))
    cloud = start_cloud(cdk_out, tmp_path / "logs", allow_stale=True)
    try:
        # When a ride arrives
        sqs = cloud.clients.client("sqs")
        url = cloud.outputs["CustomerNotificationQueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({**SAMPLE_RIDE, "id": "slow"}))
        # Then the invocation is cut off at the function's timeout, as on Lambda
        [error] = wait_for(lambda: cloud.errors, what="the timeout")
        assert "Sandbox.Timedout: Task timed out after 1.00 seconds" in error
        # and the ride is not lost: still in the queue (or already in the DLQ), never processed. The first
        # attempt began 1 s before the timeout was seen; a handler left running would write 2 s from now.
        time.sleep(3)
        assert messages_kept(cloud, "CustomerNotification") == 1
        assert "slow" not in effect_ids(cloud, "CustomerNotification")
        # and its log group says so as Lambda does
        [function] = [f for f in cloud.deployment.functions.values() if f.logical_id.startswith("CustomerNotif")]
        logs = cloud.clients.client("logs")

        def found(pattern: str) -> list[dict]:
            return logs.filter_log_events(logGroupName=function.group, filterPattern=pattern)["events"]
        report = wait_for(lambda: found('"Status: timeout"'), what="the REPORT of the timeout")[0]["message"]
        assert report.startswith("REPORT RequestId: ") and found('"Task timed out after 1.00 seconds"')
    finally:
        cloud.stop()


def slow_importing_producer(cloud_assembly: Path, tmp_path: Path, import_seconds: float,
                            log_format: str = "Text") -> Path:
    """A copy of cdk.out whose producer takes `import_seconds` to import, has a 3 s timeout and logs in
    `log_format` (LoggingConfig.LogFormat)."""
    cdk_out = tmp_path / "cdk.out"
    shutil.copytree(cloud_assembly, cdk_out)
    [template_path] = cdk_out.glob("*.template.json")
    template = json.loads(template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and "unicorn_management" in resource["Properties"]["Handler"]:
            resource["Properties"]["Timeout"] = 3
            resource["Properties"]["LoggingConfig"]["LogFormat"] = log_format
    template_path.write_text(json.dumps(template))
    [asset] = [p for p in cdk_out.glob("asset.*") if (p / "unicorn_management").is_dir()]
    handler = asset / "unicorn_management" / "handler.py"
    handler.write_text(handler.read_text() + f"\nimport time as _time\n\n_time.sleep({import_seconds})\n")
    return cdk_out


def test_a_local_cloud_whose_aws_process_does_not_answer_has_a_problem():
    """`errors` is what tests assert empty: an AWS process that cannot be asked must not read as no problems."""
    class DeadAwsProcess(CloudControls):
        aws, own_problems = True, ["a problem of the API's process"]

        def _control(self, method: str, path: str, body: object = None) -> dict:
            raise ControlError("connection refused")

    [dead, own] = DeadAwsProcess().errors
    assert dead == "the AWS process does not answer its status endpoint: connection refused"
    assert own == "a problem of the API's process"


def test_an_init_over_its_limit_is_retried_inside_the_invocation(cloud_assembly: Path, tmp_path: Path):
    """The slow init is retried within the invocation and the ride succeeds with no problem reported (by an
    AWS process that answers: `errors` names one that does not)."""
    # Given a producer whose init takes 2 s, against an init limit of 1 s and a function timeout of 3 s
    # (and logs in JSON, LoggingConfig.LogFormat)
    cloud = start_cloud(slow_importing_producer(cloud_assembly, tmp_path, 2, "JSON"), tmp_path / "logs",
                        allow_stale=True, init_limit_seconds=1)
    try:
        # When a ride is posted, Then it succeeds, as on Lambda: the init went on inside the invocation
        status, _ = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)
        assert status == 201
        [log] = (tmp_path / "logs").glob("UnicornManagement*.log")
        assert "INIT_REPORT Init Duration: 1000.00 ms Phase: init Status: timeout" in log.read_text()
        assert cloud.errors == []
        # and its log group has the platform lines Lambda writes in JSON, the REPORT with the init's duration
        [function] = [f for f in cloud.deployment.functions.values() if f.logical_id.startswith("UnicornManagement")]
        logs = cloud.clients.client("logs")
        [report] = wait_for(lambda: logs.filter_log_events(logGroupName=function.group, filterPattern=(
            '{ $.type = "platform.report" }'))["events"], what="the platform.report")
        record = json.loads(report["message"])["record"]
        assert record["status"] == "success" and record["metrics"]["initDurationMs"] > 1000
        assert logs.filter_log_events(logGroupName=function.group, filterPattern='{ $.type = "platform.start" }')[
            "events"]
    finally:
        cloud.stop()


def test_an_init_that_never_finishes_is_named_as_such(cloud_assembly: Path, tmp_path: Path):
    # Given a producer whose init would take a minute: over the 1 s init limit and the 3 s timeout both
    cloud = start_cloud(slow_importing_producer(cloud_assembly, tmp_path, 60), tmp_path / "logs", allow_stale=True,
                        init_limit_seconds=1)
    try:
        # When a ride is posted, Then API Gateway's 502, and the reason says the init did not finish
        status, answer = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)
        assert (status, answer) == (502, {"message": "Internal server error"})
        [error] = wait_for(lambda: cloud.errors, what="the reason")
        assert "Sandbox.Timedout: Task timed out after 3.00 seconds: the init did not finish" in error
        assert rides_stored(cloud) == 0
    finally:
        cloud.stop()


def rides_stored(cloud: LocalCloud) -> int:
    dynamodb = cloud.clients.client("dynamodb")
    return int(dynamodb.scan(TableName=cloud.outputs["RidesTableName"], Select="COUNT")["Count"])
