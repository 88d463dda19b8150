"""The architecture diagram read from the real synthesized template, and a fourth subscriber appearing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_assembly import load_assembly
from review.alarms import read_alarms
from review.architecture import build_architecture
from review.filter_policy import render_filter_policy
from review.mermaid import render_mermaid
from review.template import Template
from stacks.app_factory import project_context
from tests.conftest import synthesize

DRAWN = ("AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::DynamoDB::Table",
         "AWS::ApiGateway::RestApi")
FOURTH = {"name": "CustomerLoyalty", "handlerModule": "customer_accounting", "batchSize": 5,
          "maxConcurrency": 3, "filterPolicy": {"customer": [{"prefix": "vip-"}]}}


def edge_labels(architecture, source: str, target: str) -> list[str]:
    return [e.label for e in architecture.edges if e.source == source and e.target == target]


def test_every_topic_queue_function_and_table_is_a_node(default_template):
    architecture = build_architecture(default_template)
    expected = {lid for lid, _ in default_template.of_type(*DRAWN)}
    assert len(expected) == 2 + 9 + 4 + 4 + 1 + 1  # ... and CustomerAccounting's accounts table
    assert expected <= {n.id for n in architecture.nodes}
    mermaid = render_mermaid(architecture)
    for lid in expected:  # each drawn under its readable name, inside its service's subgraph
        assert default_template.short_name(lid) in mermaid


def test_every_subscription_is_an_edge_labelled_with_its_filter_policy(default_template):
    architecture = build_architecture(default_template)
    subscriptions = default_template.of_type("AWS::SNS::Subscription")
    assert len(subscriptions) == 3
    for _, subscription in subscriptions:
        props = subscription["Properties"]
        topic, queue = default_template.target(props["TopicArn"]), default_template.target(props["Endpoint"])
        [label] = edge_labels(architecture, topic, queue)
        policy = render_filter_policy(props["FilterPolicy"]) if "FilterPolicy" in props else "every message"
        assert label == f"{policy} · raw"
    assert "fare >= 50 and distance >= 20 · raw" in [e.label for e in architecture.edges]
    assert 'fare #gt;= 50 and distance #gt;= 20' in render_mermaid(architecture)  # escaped for Mermaid


def test_hops_carry_their_settings(default_template):
    architecture = build_architecture(default_template)
    for _, mapping in default_template.of_type("AWS::Lambda::EventSourceMapping"):
        props = mapping["Properties"]
        [label] = edge_labels(architecture, default_template.target(props["EventSourceArn"]),
                              default_template.target(props["FunctionName"]))
        assert label == (f"batch {props['BatchSize']} · window {props['MaximumBatchingWindowInSeconds']} s · "
                         f"max concurrency {props['ScalingConfig']['MaximumConcurrency']}")
    failures = [e for e in architecture.edges if e.style == "failure"]
    assert sorted(e.label for e in failures) == ["after 5 receives"] * 3 + ["undeliverable"] * 3
    api = next(n for n in architecture.nodes if n.kind == "REST API")
    assert [e.label for e in architecture.edges if e.source == api.id] == ["POST /submit-ride-completion"]


def test_alarms_are_counted_on_what_they_watch_and_point_at_the_ops_topic(default_template):
    architecture = build_architecture(default_template)
    alarms = default_template.of_type("AWS::CloudWatch::Alarm")
    [alarm_node] = [n for n in architecture.nodes if n.kind == "CloudWatch"]
    assert alarm_node.name == f"{len(alarms)} alarms"
    [notify] = [e for e in architecture.edges if e.source == alarm_node.id]
    assert architecture.node(notify.target).kind == "SNS topic" and notify.target.startswith("MonitoringAlarmTopic")
    # every alarm is counted on what it watches, but one on a custom metric that no drawn resource is
    unattached = [a for a in read_alarms(default_template, is_node=lambda lid: False) if not any(
        n.id == a.watches for n in architecture.nodes)]
    assert sum(n.alarms for n in architecture.nodes) + len(unattached) == len(alarms)
    assert [a.dimensions for a in unattached] == ["service=UnicornManagement"]  # RidesLeftPending (Powertools)
    queue = next(n for n in architecture.nodes if n.id.startswith("CustomerNotificationQueue"))
    assert queue.alarms == 2  # depth and age of the oldest message
    assert render_mermaid(architecture).count(">\"") == 1  # one alarm box, not one per alarm


def test_one_subgraph_per_service(default_template):
    architecture = build_architecture(default_template)
    assert architecture.groups == ("UnicornManagement", "CustomerNotification", "CustomerAccounting",
                                   "ExtraordinaryRides", "Monitoring")
    assert render_mermaid(architecture).count("subgraph ") == 5


@pytest.fixture(scope="module")
def four_subscribers(tmp_path_factory: pytest.TempPathFactory) -> Template:
    subscribers = project_context()["wildrydes"]["subscribers"]
    outdir = tmp_path_factory.mktemp("four-subscribers")
    synthesize(outdir, overrides={"subscribers": [*subscribers, FOURTH], "alarmEmail": "ops@example.com"})
    return Template(stack=load_assembly(outdir).stack)


def test_a_fourth_subscriber_in_the_configuration_appears(four_subscribers):
    architecture = build_architecture(four_subscribers)
    assert "CustomerLoyalty" in architecture.groups
    names = {four_subscribers.name(n.id) for n in architecture.nodes if n.group == "CustomerLoyalty"}
    assert {"CustomerLoyalty/Queue", "CustomerLoyalty/DeadLetterQueue", "CustomerLoyalty/SubscriptionDeadLetterQueue",
            "CustomerLoyalty/Table", "CustomerLoyalty/Consumer"} <= names
    labels = {e.label for e in architecture.edges}
    assert 'customer starts with "vip-" · raw' in labels
    assert "batch 5 · window 1 s · max concurrency 3" in labels
    mermaid = render_mermaid(architecture)
    assert 'subgraph group_CustomerLoyalty["CustomerLoyalty"]' in mermaid
    assert "customer starts with #quot;vip-#quot; · raw" in mermaid


def test_an_alarm_email_hangs_off_the_ops_topic(four_subscribers):
    architecture = build_architecture(four_subscribers)
    [email] = [n for n in architecture.nodes if n.kind == "email subscriber"]
    assert email.name == "ops@example.com"
    [edge] = [e for e in architecture.edges if e.target == email.id]
    assert architecture.node(edge.source).name == "AlarmTopic"


def test_the_readme_shows_the_diagram_review_generates(default_template):
    from review.readme import readme_diagram

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert readme_diagram(readme) == render_mermaid(build_architecture(default_template)), (
        "README.md's diagram differs from the template's: run `make review-readme`")
