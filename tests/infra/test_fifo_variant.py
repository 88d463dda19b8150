"""ordering "fifo": the same architecture on an SNS FIFO topic and SQS FIFO queues, as Lambda and SNS take it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ops.plan import Assumptions, make_plan
from tests.conftest import ROOT, synthesize
from tests.infra.test_template import SERVICES, resources


@pytest.fixture(scope="module")
def fifo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = synthesize(tmp_path_factory.mktemp("fifo.out"), {"ordering": "fifo"})  # cdk-nag runs here
    return path, json.loads(path.read_text())


def test_the_topic_and_every_queue_and_dlq_are_fifo_deduplicating_on_the_id_given(fifo_template):
    _, template = fifo_template
    [topic] = [t["Properties"] for t in resources(template, "AWS::SNS::Topic").values()
               if t["Properties"].get("DisplayName") == "Wild Rydes ride completions"]
    assert topic["FifoTopic"] is True and topic["ContentBasedDeduplication"] is False
    assert topic["TopicName"].endswith(".fifo")
    queues = resources(template, "AWS::SQS::Queue")
    assert len(queues) == 3 * len(SERVICES)  # queue, DLQ, subscription DLQ per service
    assert all(q["Properties"].get("FifoQueue") is True for q in queues.values())
    assert not any(q["Properties"].get("ContentBasedDeduplication") for q in queues.values())


def test_the_consumers_take_fifo_batches_without_a_window_and_know_the_order(fifo_template):
    _, template = fifo_template
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == len(SERVICES)
    for mapping in mappings:
        assert "MaximumBatchingWindowInSeconds" not in mapping["Properties"]
        assert mapping["Properties"]["BatchSize"] <= 10
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    consumers = [f["Properties"] for f in resources(template, "AWS::Lambda::Function").values()
                 if "EFFECT_TABLE_NAME" in f["Properties"]["Environment"]["Variables"]]
    assert len(consumers) == len(SERVICES)
    assert {f["Environment"]["Variables"]["ORDERING"] for f in consumers} == {"fifo"}


def alarm_descriptions(template: dict[str, Any]) -> list[str]:
    return [a["Properties"]["AlarmDescription"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]


def test_fifo_alarms_watch_the_topics_throughput(fifo_template, template_json):
    _, template = fifo_template
    descriptions, standard = (alarm_descriptions(t) for t in (template, template_json))
    assert any("3,000 messages/s" in d for d in descriptions)
    assert len(descriptions) == len(standard) + 1 and not any("3,000 messages/s" in d for d in standard)


def test_cfn_lint_finds_nothing_in_the_fifo_template(fifo_template):
    path, _ = fifo_template
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--config-file",
                             str(ROOT / ".cfnlintrc.yaml"), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plan_bounds_a_fifo_consumer_by_its_customers_and_names_fifos_quotas(fifo_template):
    path, _ = fifo_template
    plan = make_plan(path, Assumptions(rate=4000, concurrency=10, batch_size=10, groups=3))
    for service in plan.services:
        assert service.throughput_per_second == 3 * 10 / 1.0  # three customers: three batches at once, not ten
        assert any("3 customers keep at most 3 of its 10 invocations busy" in w for w in service.warnings)
        assert any("over the SNS FIFO topic's 3,000 messages/s" in w for w in service.warnings)
    unknown = make_plan(path, Assumptions(concurrency=10))
    assert all(any("pass --groups" in w for w in s.warnings) for s in unknown.services)
