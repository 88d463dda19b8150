"""Message flow rows read from the template, and AWS guidance breaches flagged."""

from __future__ import annotations

from review.alarms import read_alarms
from review.flows import read_flows
from tests.review.conftest import find


def flows_by_service(template):
    return {f.service: f for f in read_flows(template, read_alarms(template))}


def test_one_row_per_service_with_its_settings_and_no_flag(default_template):
    flows = flows_by_service(default_template)
    assert list(flows) == ["CustomerNotification", "CustomerAccounting", "ExtraordinaryRides"]
    extraordinary = flows["ExtraordinaryRides"]
    assert extraordinary.filter_policy == "fare >= 50 and distance >= 20"
    assert flows["CustomerNotification"].filter_policy is None
    assert extraordinary.raw_delivery is True
    assert (extraordinary.visibility_timeout, extraordinary.retention) == (181, 345_600)
    assert (extraordinary.max_receive_count, extraordinary.dlq_retention) == (5, 1_209_600)
    assert (extraordinary.batch_size, extraordinary.batching_window, extraordinary.max_concurrency) == (10, 1, 2)
    assert (extraordinary.function_timeout, extraordinary.function_memory) == (30, 256)
    assert len(extraordinary.alarms) == 6
    assert "Queue: ApproximateNumberOfMessagesVisible Maximum > 100 for 5 of 5 x 60 s" in extraordinary.alarms
    assert all(not f.flags for f in flows.values())


def test_broken_guidance_values_are_flagged(edited_template):
    def break_guidance(resources, original):
        queue = find(original, "AWS::SQS::Queue", "CustomerAccounting/Queue")
        resources[queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 3
        resources[queue]["Properties"]["VisibilityTimeout"] = 60
        dlq = find(original, "AWS::SQS::Queue", "CustomerAccounting/DeadLetterQueue")
        resources[dlq]["Properties"]["MessageRetentionPeriod"] = 345_600  # the queue's default: 4 days
        subscription = find(original, "AWS::SNS::Subscription", "CustomerAccounting/")
        del resources[subscription]["Properties"]["RedrivePolicy"]

    flows = flows_by_service(edited_template(break_guidance))
    assert flows["CustomerAccounting"].flags == (
        "visibility timeout 1 min is under 6 x function timeout 30 s + batching window 1 s = 181 s",
        "maxReceiveCount 3 is under 5",
        "DLQ retention 4 d is not longer than the queue's 4 d",
        "the subscription has no dead-letter queue (SNS drops what it cannot deliver)")
    assert not flows["CustomerNotification"].flags and not flows["ExtraordinaryRides"].flags


def test_a_queue_without_redrive_policy_is_flagged(edited_template):
    def drop_redrive(resources, original):
        del resources[find(original, "AWS::SQS::Queue", "ExtraordinaryRides/Queue")]["Properties"]["RedrivePolicy"]

    flow = flows_by_service(edited_template(drop_redrive))["ExtraordinaryRides"]
    assert flow.flags == ("the queue has no dead-letter queue (redrive policy)",)
    assert flow.max_receive_count is None and flow.dlq_retention is None
