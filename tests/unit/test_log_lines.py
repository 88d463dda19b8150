"""What Lambda and API Gateway write to CloudWatch Logs: stream names, platform lines, access log lines,
filter patterns, and the shipper that batches them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from local.apigateway.access_log import render, request_time
from local.logs import lambda_lines
from local.logs.filter_patterns import UnsupportedPattern, compile_pattern
from local.logs.shipper import LogShipper

REQUEST = "8f507cfc-1111-4697-b07a-ac58fc914c95"


def test_a_stream_is_named_as_lambda_names_an_environments_stream():
    name = lambda_lines.stream_name(datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
    assert re.fullmatch(r"2026/12/07/\[\$LATEST\][0-9a-f]{32}", name)
    assert lambda_lines.stream_name() != lambda_lines.stream_name()


def test_text_format_frames_an_invocation_with_start_end_and_report():
    start = lambda_lines.start(REQUEST, 1000, json_format=False)
    assert start == (1000, f"START RequestId: {REQUEST} Version: $LATEST")
    end, report = lambda_lines.finish(lambda_lines.Report(REQUEST, 1000, 3.631, 128, 90), json_format=False)
    assert end == (1003, f"END RequestId: {REQUEST}")
    assert report[1] == (f"REPORT RequestId: {REQUEST}\tDuration: 3.63 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB"
                         "\tMax Memory Used: 90 MB\t")


def test_a_cold_start_reports_and_bills_its_init_and_a_timeout_says_so():
    *_, report = lambda_lines.finish(lambda_lines.Report(REQUEST, 0, 10.0, 256, 80, init_ms=151.61), False)
    assert report[1].endswith("Billed Duration: 162 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB\t"
                              "Init Duration: 151.61 ms\t")
    timed_out, _, report = lambda_lines.finish(lambda_lines.Report(REQUEST, 0, 3000.0, 128, 0,
                                                                   timed_out_after=3.0), False)
    assert timed_out[1] == f"1970-01-01T00:00:03.000Z {REQUEST} Task timed out after 3.00 seconds"
    assert report[1].endswith("Status: timeout")


def test_json_format_writes_platform_records_and_no_end_line():
    assert json.loads(lambda_lines.start(REQUEST, 0, True)[1]) == {
        "time": "1970-01-01T00:00:00.000Z", "type": "platform.start",
        "record": {"requestId": REQUEST, "version": "$LATEST"}}
    [report] = lambda_lines.finish(lambda_lines.Report(REQUEST, 0, 2.5, 128, 60, init_ms=100.0), True)
    assert json.loads(report[1])["record"] == {"requestId": REQUEST, "status": "success", "metrics": {
        "durationMs": 2.5, "billedDurationMs": 103, "memorySizeMB": 128, "maxMemoryUsedMB": 60,
        "initDurationMs": 100.0}}


def test_an_invocation_is_its_lines_framed_unless_json_logs_keep_only_warnings_of_the_system():
    report, lines = lambda_lines.Report(REQUEST, 5, 1.0, 128, 60), [(6, "hello")]
    framed = lambda_lines.invocation(report, lines, json_format=False)
    assert [m.split(" ")[0] for _, m in framed] == ["START", "hello", "END", "REPORT"]
    assert len(lambda_lines.invocation(report, lines, json_format=True, system_level="INFO")) == 3
    assert lambda_lines.invocation(report, lines, json_format=True, system_level="WARN") == lines


def test_the_access_log_format_is_filled_as_api_gateway_fills_it():
    log_format = ('{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":'
                  '"$context.requestTime","status":"$context.status","caller":"$context.identity.caller"}')
    line = render(log_format, {"requestId": "r1", "identity.sourceIp": "127.0.0.1",
                               "requestTime": request_time(1796656239.5), "status": 201})
    assert json.loads(line) == {"requestId": "r1", "ip": "127.0.0.1", "requestTime": "07/Dec/2026:15:10:39 +0000",
                                "status": "201", "caller": "-"}


@pytest.mark.parametrize(("pattern", "matched"), [
    ("", ["START a", "REPORT a", '{"level": "ERROR", "n": 5}', '{"level": "INFO", "n": 1}']),
    ("REPORT", ["REPORT a"]),
    ('"START a"', ["START a"]),
    ("?START ?REPORT", ["START a", "REPORT a"]),
    ("a -START", ["REPORT a"]),
    ('{ $.level = "ERROR" }', ['{"level": "ERROR", "n": 5}']),
    ('{ $.level = "ERR*" }', ['{"level": "ERROR", "n": 5}']),
    ('{ $.n >= 2 || $.level = "INFO" }', ['{"level": "ERROR", "n": 5}', '{"level": "INFO", "n": 1}']),
    ('{ $.n > 2 && $.level != "ERROR" }', []),
    ("{ $.missing NOT EXISTS }", ['{"level": "ERROR", "n": 5}', '{"level": "INFO", "n": 1}']),
    ("%REP.RT%", ["REPORT a"]),
])
def test_filter_patterns_match_as_cloudwatch_logs_matches_them(pattern, matched):
    messages = ["START a", "REPORT a", '{"level": "ERROR", "n": 5}', '{"level": "INFO", "n": 1}']
    matches = compile_pattern(pattern)
    assert [m for m in messages if matches(m)] == matched


def test_a_request_id_quoted_matches_only_its_events_and_unsupported_patterns_are_refused():
    matches = compile_pattern(f'"{REQUEST}"')
    assert matches(f"START RequestId: {REQUEST} Version: $LATEST") and not matches("START RequestId: other")
    with pytest.raises(UnsupportedPattern):
        compile_pattern("[ip, user, status=5*]")


def test_the_shipper_batches_by_stream_in_time_order_and_keeps_what_the_sink_refused():
    batches, failing = [], [True]

    def sink(batch):
        if failing[0]:
            raise OSError("not now")
        batches.append(batch)

    shipper = LogShipper(sink, interval=60)
    shipper.put("g", "s1", [(3, "c")])
    shipper.put("g", "s1", [(1, "a")])
    shipper.put("g", "s2", [(2, "b")])
    assert shipper.flush() == 0 and batches == []
    failing[0] = False
    assert shipper.flush() == 3
    assert batches == [{"g": {"s1": [(1, "a"), (3, "c")], "s2": [(2, "b")]}}]
    assert shipper.flush() == 0
