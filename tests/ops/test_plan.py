"""The capacity and cost plan: the worked examples, AWS guidance, the price table on a known template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.errors import OpsError
from ops.plan import Assumptions, batch_seconds, load_prices, make_plan, throughput
from scripts.wildrydes import app
from tests.ops.conftest import assert_exits_cleanly


def test_the_worked_example_before_2_messages_a_second_and_about_7_hours():
    # 10 concurrent, batch of 1, 5 s each: 10 x 1 / 5 = 2 messages/s; 50,000 / 2 = 25,000 s.
    assert throughput(10, 1, batch_seconds(1, 5, None)) == 2
    assert 50_000 / throughput(10, 1, batch_seconds(1, 5, None)) == 25_000


def test_the_worked_example_after_200_messages_a_second_and_about_4_minutes():
    # 100 concurrent, batch of 10 processed 10 at a time, 5 s a round: one round a batch.
    assert batch_seconds(10, 5, 10) == 5
    assert throughput(100, 10, batch_seconds(10, 5, 10)) == 200
    assert batch_seconds(10, 5, 3) == 20  # 4 rounds of at most 3 records
    assert batch_seconds(10, 5, 1) == 50  # one record after another


@pytest.mark.parametrize(("args", "per_second", "drain"), [
    (["--concurrency", "10", "--batch-size", "1", "--seconds-per-batch", "5", "--backlog", "50000"], 2.0, 25_000.0),
    (["--concurrency", "100", "--batch-size", "10", "--parallel", "10", "--seconds-per-batch", "5",
      "--backlog", "50000"], 200.0, 250.0),
])
def test_the_cli_reproduces_both_examples_on_the_synthesized_template(cloud_assembly: Path, args, per_second, drain):
    template = cloud_assembly / "WildRydesRideCompletion.template.json"
    result = CliRunner().invoke(app, ["plan", *args, "--template", str(template), "--json"])
    assert result.exit_code == 0, result.output
    services = json.loads(result.stdout)["services"]
    assert [s["service"] for s in services] == ["CustomerAccounting", "CustomerNotification", "ExtraordinaryRides"]
    assert {(s["throughput_per_second"], s["drain_seconds"]) for s in services} == {(per_second, drain)}
    table = CliRunner().invoke(app, ["plan", *args, "--template", str(template)])
    assert table.exit_code == 0 and ("25,000 s (6.9 h)" if drain == 25_000 else "250 s (4.2 min)") in table.stdout


def known_template(tmp_path: Path, *, visibility: int = 181, max_receive_count: int = 5) -> Path:
    """One producer (API + 512 MB arm64 function) and one service (batch 10, 256 MB arm64, 30 s timeout)."""
    resources = {
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"MethodSettings": [{"ThrottlingRateLimit": 40}]}},
        "Method": {"Type": "AWS::ApiGateway::Method", "Properties": {"Integration": {"Uri": {"Fn::Join": ["", [
            "arn:", {"Fn::GetAtt": ["Producer", "Arn"]}, "/invocations"]]}}}},
        "Producer": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 512, "Architectures": ["arm64"]}},
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility, "RedrivePolicy": {
            "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": max_receive_count}}},
        "Consumer": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 256, "Timeout": 30,
                                                                     "Architectures": ["arm64"]}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1, "ScalingConfig": {"MaximumConcurrency": 4},
            "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}, "FunctionName": {"Ref": "Consumer"}}},
    }
    outputs = {"BillingQueueUrl": {"Value": {"Ref": "Queue"}}, "BillingDlqUrl": {"Value": {"Ref": "Dlq"}}}
    path = tmp_path / "known.template.json"
    path.write_text(json.dumps({"Resources": resources, "Outputs": outputs}))
    return path


def test_the_price_table_applied_to_a_known_template(tmp_path: Path):
    prices = load_prices()
    plan = make_plan(known_template(tmp_path), Assumptions(seconds_per_batch=2, producer_seconds=0.1,
                                                          shares={"Billing": 0.5}), prices)
    [billing] = plan.services
    assert (billing.batch_size, billing.max_concurrency, billing.throughput_per_second) == (10, 4, 20.0)
    assert billing.rate_per_second == 20.0 and billing.concurrency_needed == 4  # 40 rides/s x 0.5 share
    # By hand, per million rides, from ops/prices.toml:
    per_request, gb_second = prices["lambda"]["requests_per_million"] / 1e6, prices["lambda"]["gb_second_arm64"]
    delivered, batches = 500_000, 50_000
    expected = (
        1e6 * prices["apigateway"]["rest_requests_per_million"] / 1e6
        + 1e6 * per_request + 1e6 * 0.1 * 0.5 * gb_second  # the producer: 0.1 s at 512 MB
        + 2e6 * prices["dynamodb"]["on_demand_write_units_per_million"] / 1e6
        + 1e6 * prices["sns"]["publishes_per_million"] / 1e6
        + delivered * prices["sns"]["sqs_deliveries_per_million"] / 1e6
        + (delivered + 2 * batches) * prices["sqs"]["standard_requests_per_million"] / 1e6
        + batches * per_request + batches * 2 * 0.25 * gb_second  # 2 s a batch at 256 MB
        + delivered * prices["dynamodb"]["on_demand_write_units_per_million"] / 1e6)
    assert plan.cost_per_million == pytest.approx(expected)
    # At the prices looked up on 2026-11-27: 3.50 API + 0.20 + 0.6667 producer + 1.25 Rides writes + 0.50 SNS
    # + 0.24 SQS + 0.01 + 0.3333 consumer + 0.3125 effect writes = 7.0125 USD per million rides.
    assert plan.cost_per_million == pytest.approx(7.0125, abs=1e-4)
    assert {"date", "region", "sources"} <= set(prices) and prices["region"] == "us-east-1"


def test_aws_guidance_is_checked(tmp_path: Path):
    [ok] = make_plan(known_template(tmp_path), Assumptions()).services
    assert (ok.visibility_minimum, ok.visibility_ok, ok.max_receive_count_ok) == (181, True, True)
    [bad] = make_plan(known_template(tmp_path, visibility=60, max_receive_count=1), Assumptions()).services
    assert (bad.visibility_ok, bad.max_receive_count_ok) == (False, False)
    [slow] = make_plan(known_template(tmp_path), Assumptions(seconds_per_batch=45, rate=100)).services
    assert any("over the function timeout" in w for w in slow.warnings)
    assert any("needs concurrency" in w for w in slow.warnings)


def test_bad_plan_input_is_one_clear_error(tmp_path: Path):
    with pytest.raises(OpsError, match="no synthesized template"):
        make_plan(tmp_path / "missing.json", Assumptions())
    with pytest.raises(OpsError, match="--share names no service: Nope"):
        make_plan(known_template(tmp_path), Assumptions(shares={"Nope": 0.5}))
    result = CliRunner().invoke(app, ["plan", "--seconds-per-batch", "0", "--template", str(known_template(tmp_path))])
    assert_exits_cleanly(result, 2)  # an OpsError turned into one line, not an exception the CLI let through
    assert "--seconds-per-batch must be positive" in result.stderr


def test_a_standard_queue_has_no_fifo_bound_or_warning(cloud_assembly: Path):
    [template] = cloud_assembly.glob("*.template.json")
    plan = make_plan(template, Assumptions(rate=4000, concurrency=10, batch_size=10, groups=3))
    assert all(s.throughput_per_second == 100 and not any("FIFO" in w for w in s.warnings) for s in plan.services)


def test_the_accounting_service_costs_a_two_item_transaction_per_ride_and_no_read(cloud_assembly: Path):
    [template] = cloud_assembly.glob("*.template.json")
    lines = {(c.service, c.component): c.quantity for c in make_plan(template, Assumptions()).costs}
    assert lines[("CustomerAccounting", "Ledger + account transaction (2 items x 2 units)")] == 4_000_000
    assert not [c for (service, c) in lines if service == "CustomerAccounting" and "read" in c]
    assert ("CustomerAccounting", "Effect table writes") not in lines
    assert lines[("CustomerNotification", "Effect table writes")] == 1_000_000
