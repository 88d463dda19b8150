"""`make local` as users run it: a process serving the API and the AWS endpoint, driven by plain boto3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3

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
        assert endpoints["aws_endpoint_url"].startswith("http://127.0.0.1:")
        outputs = endpoints["outputs"]
        # plain boto3, any credentials, the endpoint URL: as with `aws --endpoint-url`
        session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                        region_name=endpoints["region"])
        sqs = session.client("sqs", endpoint_url=endpoints["aws_endpoint_url"])
        dynamodb = session.client("dynamodb", endpoint_url=endpoints["aws_endpoint_url"])
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
