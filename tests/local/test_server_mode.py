"""`make local` as users run it: a process serving the API and the AWS endpoint, driven by plain boto3."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import post_ride, wait_for


def test_local_cloud_process_serves_boto3_and_the_api_then_stops_on_sigterm(cloud_assembly: Path, tmp_path: Path):
    endpoints_file = tmp_path / "endpoints.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_cloud", "--cdk-out", str(cloud_assembly), "--api-port", "0",
         "--aws-port", "0", "--endpoints-file", str(endpoints_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        def written() -> dict | None:  # the file appears before its content is complete (not an atomic write)
            try:
                return json.loads(endpoints_file.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                return None

        endpoints = wait_for(written, timeout=60, what="endpoints.json")
        assert set(endpoints) >= {"api_url", "aws_endpoint_url", "region", "outputs"}
        assert endpoints["aws_endpoint_url"].startswith("https://127.0.0.1:")
        outputs = endpoints["outputs"]
        # plain boto3, any credentials, the endpoint URL: as with `aws --endpoint-url`
        session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                        region_name=endpoints["region"])
        sqs = session.client("sqs", endpoint_url=endpoints["aws_endpoint_url"], verify=endpoints["ca_bundle"])
        dynamodb = session.client("dynamodb", endpoint_url=endpoints["aws_endpoint_url"], verify=endpoints["ca_bundle"])
        assert outputs["CustomerNotificationQueueUrl"] in sqs.list_queues()["QueueUrls"]

        status, answer = post_ride(outputs["ApiUrl"], SAMPLE_RIDE)
        assert status == 201

        def stored() -> bool:
            items = dynamodb.scan(TableName=outputs["ExtraordinaryRidesTableName"])["Items"]
            return any(item["rideId"]["S"] == answer["id"] for item in items)

        wait_for(stored, what="the ride in the ExtraordinaryRides table")
        assert sqs.receive_message(QueueUrl=outputs["CustomerNotificationDlqUrl"]).get("Messages", []) == []
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "API:" in output and "stopping..." in output
    assert not endpoints_file.exists()


def _read_json(path: Path) -> dict | None:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def session_processes(session_id: int) -> list[int]:
    """Pids of every process in a session (what a terminal's Ctrl-C reaches), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session_id:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_ctrl_c_stops_everything_cleanly_and_enforce_iam_0_says_loudly_it_only_reports(cloud_assembly: Path,
                                                                                       tmp_path: Path):
    # Given `make local` in a terminal of its own, with ENFORCE_IAM=0, which has served a ride
    endpoints_file = tmp_path / "endpoints.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_cloud", "--cdk-out", str(cloud_assembly), "--api-port", "0",
         "--aws-port", "0", "--endpoints-file", str(endpoints_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "ENFORCE_IAM": "0"})
    try:
        wait_for(endpoints_file.exists, timeout=60, what="endpoints.json")
        endpoints = wait_for(lambda: _read_json(endpoints_file), timeout=10, what="a complete endpoints.json")
        assert post_ride(endpoints["outputs"]["ApiUrl"], SAMPLE_RIDE)[0] == 201
        # a call the consumer's role does not allow goes through, and is recorded as a refusal AWS would give
        control = f"{endpoints['aws_endpoint_url']}/_localcloud/"
        context = ssl.create_default_context(cafile=endpoints["ca_bundle"])
        function = endpoints["outputs"]["CustomerAccountingFunctionName"]
        request = urllib.request.Request(f"{control}function-credentials/{function}", data=b"", method="POST")
        with urllib.request.urlopen(request, context=context) as answer:
            credentials = json.loads(answer.read())
        boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoints["aws_endpoint_url"],
                     verify=endpoints["ca_bundle"], aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                     aws_session_token=credentials["AWS_SESSION_TOKEN"]).scan(
            TableName=endpoints["outputs"]["CustomerAccountingTableName"])
        with urllib.request.urlopen(f"{control}permissions", context=context) as answer:
            record = json.loads(answer.read())
        assert record["enforced"] is False
        assert "dynamodb:Scan" in {row["action"] for row in record["denied"]}
        assert len(session_processes(process.pid)) >= 3  # the local cloud, its zygote and an environment
        # When Ctrl-C reaches the whole foreground process group, as a terminal sends it
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # Then it exits 0 without an error line, and leaves nothing running and no port taken
    assert process.returncode == 0, output
    assert "stopping..." in output
    assert "WARNING: ENFORCE_IAM=0: IAM is NOT enforced" in output
    for trouble in ("Traceback", "KeyboardInterrupt", "raised on import", "error"):
        assert trouble not in output, output
    wait_for(lambda: not session_processes(process.pid), timeout=5, what="every process of the session to end")
    aws_port = int(endpoints["aws_endpoint_url"].rsplit(":", 1)[1])
    api_port = int(endpoints["api_url"].split(":")[2].split("/")[0])
    for port in (aws_port, api_port):  # free for the next `make local` (connections may linger in TIME_WAIT)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))


TGKILL = {"x86_64": 234, "aarch64": 131}  # Linux's syscall number of tgkill: a signal to one thread


def signal_a_worker_thread(pid: int, signum: int) -> None:
    """Send `signum` to one of the process's threads other than its main thread, as the kernel may pick any
    thread that does not block it for a signal sent to the process (a terminal's Ctrl-C included)."""
    import ctypes

    number = TGKILL.get(os.uname().machine)
    if number is None:
        pytest.skip(f"no tgkill syscall number known for {os.uname().machine}")
    workers = sorted(int(task.name) for task in Path(f"/proc/{pid}/task").iterdir() if int(task.name) != pid)
    assert workers, "the local cloud runs threads besides its main one"
    if ctypes.CDLL(None, use_errno=True).syscall(number, pid, workers[-1], signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")


def test_ctrl_c_stops_it_even_when_the_signal_lands_on_a_worker_thread(cloud_assembly: Path, tmp_path: Path):
    """The main thread waits for the signal; one delivered to another thread must still wake it (it once did
    not: that Ctrl-C was lost until a second one)."""
    endpoints_file = tmp_path / "endpoints.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_cloud", "--cdk-out", str(cloud_assembly), "--api-port", "0",
         "--aws-port", "0", "--endpoints-file", str(endpoints_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for(lambda: _read_json(endpoints_file), timeout=60, what="a complete endpoints.json")
        started = time.monotonic()
        signal_a_worker_thread(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0 and "stopping..." in output, output
    assert stopped_in < 5, f"stopped {stopped_in:.1f} s after the signal"
