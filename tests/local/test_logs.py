"""What a user reads in CloudWatch Logs on the local cloud, and the metrics CloudWatch Logs makes of it:
function logs in each function's log group (a stream per execution environment, START/END/REPORT), the
stage's access log, EMF metrics in the local CloudWatch, FilterLogEvents with filter patterns."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from local.cloud import LocalCloud
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import ROOT_SIGNER, aws_cli, effect_ids, post_ride, wait_for
from tests.local.test_enforcement import actions, producer, role_of, role_statement_removed

STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


def group_of(cloud: LocalCloud, logical_prefix: str) -> str:
    [function] = [f for f in cloud.deployment.functions.values() if f.logical_id.startswith(logical_prefix)]
    return function.group


def events(cloud: LocalCloud, group: str, pattern: str = "", **more: Any) -> list[dict[str, Any]]:
    logs = cloud.clients.client("logs")
    found, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, filterPattern=pattern, **more,
                                      **({"nextToken": token} if token else {}))
        found += page["events"]
        token = page.get("nextToken")
        if not token:
            return found


def metric_sum(cloud: LocalCloud, namespace: str, name: str, service: str) -> float:
    now = datetime.now(UTC)
    points = cloud.clients.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": "service", "Value": service}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=60,
        Statistics=["Sum"])["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_function_logs_reach_the_log_group_the_template_declares(local_cloud):
    # Given a ride through the API and its consumers
    ride_id = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
    group = group_of(local_cloud, "UnicornManagementSubmitRideCompletion")
    assert "SubmitRideCompletionLogs" in group  # LoggingConfig.LogGroup, the stack's own, not /aws/lambda/<name>
    # Then the producer's group has the ride's lines, framed by START and REPORT, in one environment's stream
    [published] = wait_for(lambda: events(local_cloud, group, f'"{ride_id}"'), what="the ride in the producer's log")
    assert json.loads(published["message"])["message"] == "ride published"
    assert STREAM.fullmatch(published["logStreamName"])
    stream = events(local_cloud, group, logStreamNames=[published["logStreamName"]])
    messages = [e["message"] for e in stream]
    request_id = json.loads(published["message"])["function_request_id"]
    framed = [m for m in messages if request_id in m]
    assert framed[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert framed[-2:][0] == f"END RequestId: {request_id}"
    assert re.fullmatch(rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: "
                        r"\d+ MB\tMax Memory Used: \d+ MB\t(Init Duration: [\d.]+ ms\t)?", framed[-1])
    assert [e["timestamp"] for e in stream] == sorted(e["timestamp"] for e in stream)
    # And each consumer's group has its own lines of the ride
    for service in ("CustomerNotification", "CustomerAccounting", "ExtraordinaryRides"):
        wait_for(lambda s=service: ride_id in effect_ids(local_cloud, s), what=f"the ride in {service}")
        wait_for(lambda s=service: events(local_cloud, group_of(local_cloud, s), "REPORT"), what=f"{service}'s log")


def test_the_access_log_has_one_line_per_request_in_the_stages_format(local_cloud):
    url = local_cloud.outputs["ApiUrl"]
    signed = httpx.post(url, json=SAMPLE_RIDE, auth=ROOT_SIGNER, timeout=30)
    unsigned = httpx.post(url, json=SAMPLE_RIDE, timeout=30)
    unknown = httpx.get(url.rsplit("/", 1)[0] + "/nowhere", timeout=30)
    group = local_cloud.deployment.access_log_group
    assert "ApiAccessLogs" in group
    for response, status in ((signed, 201), (unsigned, 403), (unknown, 403)):
        request_id = response.headers["x-amzn-requestid"]
        assert response.status_code == status
        [line] = wait_for(lambda r=request_id: events(local_cloud, group, f'"{r}"'), what="the request's access log")
        fields = json.loads(line["message"])
        assert fields["status"] == str(status) and fields["ip"] == "127.0.0.1" and fields["protocol"] == "HTTP/1.1"
        assert fields["responseLength"] == str(len(response.content))
        assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", fields["requestTime"])
    assert json.loads(events(local_cloud, group, f'"{signed.headers["x-amzn-requestid"]}"')[0]["message"])[
        "resourcePath"] == "/submit-ride-completion"


def test_emf_metrics_reach_cloudwatch_and_rides_left_pending_can_alarm(local_cloud):
    function = producer(local_cloud)
    namespace, service = (function.environment["POWERTOOLS_METRICS_NAMESPACE"],
                          function.environment["POWERTOOLS_SERVICE_NAME"])
    before = metric_sum(local_cloud, namespace, "Responses2xx", service)
    assert post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[0] == 201
    wait_for(lambda: metric_sum(local_cloud, namespace, "Responses2xx", service) >= before + 1, timeout=10,
             what="Responses2xx from the producer's EMF line")
    # When the producer may not publish, the ride stays PENDING and the producer says so in EMF
    with role_statement_removed(local_cloud, function.name, lambda s: "sns:Publish" in actions(s)):
        status, _ = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE, {"Idempotency-Key": str(uuid.uuid4())})
        assert status == 503
    # Then RidesLeftPending is in the local CloudWatch, where the stack's alarm reads it
    assert wait_for(lambda: metric_sum(local_cloud, namespace, "RidesLeftPending", service), timeout=10,
                    what="RidesLeftPending") == 1


def test_the_aws_cli_filters_log_events_with_a_pattern(local_cloud):
    assert post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[0] == 201
    group = group_of(local_cloud, "UnicornManagementSubmitRideCompletion")
    wait_for(lambda: events(local_cloud, group, "REPORT"), what="a REPORT line")
    answer = aws_cli(local_cloud, "logs", "filter-log-events", "--log-group-name", group,
                     "--filter-pattern", "?START ?REPORT", "--log-stream-name-prefix", "20")
    messages = [e["message"] for e in answer["events"]]
    assert messages and all(m.startswith(("START ", "REPORT ")) for m in messages)
    assert [e["timestamp"] for e in answer["events"]] == sorted(e["timestamp"] for e in answer["events"])
    json_lines = events(local_cloud, group, '{ $.level = "INFO" && $.message = "ride*" }')
    # what `aws logs tail` (CLI v2) sends: interleaved, a start time, pages followed by nextToken
    since = answer["events"][0]["timestamp"]
    pages = local_cloud.clients.client("logs").get_paginator("filter_log_events").paginate(
        logGroupName=group, interleaved=True, startTime=since, limit=2)
    tailed = [e["message"] for page in pages for e in page["events"]]
    assert len(tailed) > 2 and len(tailed) == len(events(local_cloud, group, startTime=since))
    assert json_lines and all(json.loads(e["message"])["message"] == "ride published" for e in json_lines)


def test_lambda_writes_logs_as_the_functions_role_and_drops_them_without_the_grant(local_cloud):
    function, iam = producer(local_cloud), local_cloud.clients.client("iam")
    group, role = group_of(local_cloud, "UnicornManagementSubmitRideCompletion"), role_of(local_cloud, function.name)
    iam.put_role_policy(RoleName=role, PolicyName="no-logs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "logs:PutLogEvents", "Resource": "*"}]}))
    try:  # the function still works; its lines never reach the group, as on AWS
        dropped = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
        wait_for(lambda: any("logs:PutLogEvents" in p for p in local_cloud.status()["problems"]), timeout=5,
                 what="the refusal reported")
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="no-logs")
    kept = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
    wait_for(lambda: events(local_cloud, group, f'"{kept}"'), what="the next ride's lines")
    assert events(local_cloud, group, f'"{dropped}"') == []
    used = {(row["principal"].rsplit("/", 1)[-1], row["action"]) for row in local_cloud.permissions()["used"]}
    assert (role, "logs:PutLogEvents") in used, sorted(a for a in used if a[1].startswith("logs:"))
