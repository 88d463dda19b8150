"""The architecture as a graph read from the template: what carries data, and the settings on each hop.

Nodes are the resources that hold or move data (APIs, functions, tables, topics, queues, ...); edges
come from the template's own wiring: API methods, IAM grants of each function's role, SNS
subscriptions (with their filter policies), redrive policies, event source mappings and alarm
actions. Alarms are counted on what they watch instead of being drawn one by one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from review.alarms import read_alarms
from review.filter_policy import render_filter_policy
from review.permissions import role_statements
from review.template import Template, as_list

NODE_KINDS = {
    "AWS::ApiGateway::RestApi": "REST API", "AWS::ApiGatewayV2::Api": "HTTP API",
    "AWS::Lambda::Function": "Lambda function", "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::DynamoDB::GlobalTable": "DynamoDB global table", "AWS::SNS::Topic": "SNS topic",
    "AWS::SQS::Queue": "SQS queue", "AWS::S3::Bucket": "S3 bucket", "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::StepFunctions::StateMachine": "state machine", "AWS::Events::EventBus": "event bus",
}
_WRITES = ("put", "update", "delete", "batchwrite", "write", "create", "partiqlinsert", "partiqlupdate",
           "partiqldelete", "*")
_READS = ("get", "query", "scan", "batchget", "list", "partiqlselect")
_VERBS = {"sns": {"publish": "publishes"}, "sqs": {"sendmessage": "sends"},
          "lambda": {"invokefunction": "invokes"}, "states": {"startexecution": "starts"}}


@dataclass(frozen=True, kw_only=True)
class Node:
    id: str
    kind: str  # what it is, e.g. "SQS queue"
    name: str  # its name within its group
    group: str | None = None
    notes: tuple[str, ...] = ()
    alarms: int = 0


@dataclass(frozen=True, kw_only=True)
class Edge:
    source: str
    target: str
    label: str = ""
    style: str = "flow"  # flow | failure | notify


@dataclass(frozen=True, kw_only=True)
class Architecture:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[str, ...] = field(default=())  # groups drawn as subgraphs, in order

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": [vars(n) | {"notes": list(n.notes)} for n in self.nodes],
                "edges": [vars(e) for e in self.edges], "groups": list(self.groups)}


def _access(actions: list[str]) -> str | None:
    """How a function uses a resource its role may act on ("writes", "publishes"), None if only control."""
    verbs = set()
    for action in actions:
        service, _, verb = action.lower().partition(":")
        special = _VERBS.get(service)
        if special is not None:
            verbs.update(v for k, v in special.items() if verb in (k, "*"))
        elif verb.startswith(_WRITES):
            verbs.add("writes")
        elif verb.startswith(_READS):
            verbs.add("reads")
    if {"reads", "writes"} <= verbs:
        return "reads and writes"
    return ", ".join(sorted(verbs)) or None


class _Builder:
    def __init__(self, template: Template) -> None:
        self.t = template
        self.nodes: dict[str, Node] = {
            lid: Node(id=lid, kind=NODE_KINDS[r["Type"]], name=template.short_name(lid), group=template.group(lid),
                      notes=("KMS",) if (r.get("Properties") or {}).get("KmsMasterKeyId") else ())
            for lid, r in template.resources.items() if r.get("Type") in NODE_KINDS}
        self.edges: list[Edge] = []
        self.event_sources: set[tuple[str, str]] = set()

    def first_node(self, value: Any) -> str | None:
        return next((ref for ref in self.t.references(value) if ref in self.nodes), None)

    def api_methods(self) -> None:
        for _, method in self.t.of_type("AWS::ApiGateway::Method"):
            props = method.get("Properties") or {}
            api, function = self.first_node(props.get("RestApiId")), self.first_node(props.get("Integration"))
            if api and function:
                route = f"{props.get('HttpMethod', 'ANY')} {self.api_path(props.get('ResourceId'))}"
                self.edges.append(Edge(source=api, target=function, label=route))

    def api_path(self, resource_ref: Any) -> str:
        parts: list[str] = []
        current = self.t.target(resource_ref)
        while current and self.t.type_of(current) == "AWS::ApiGateway::Resource" and len(parts) < 20:
            props = self.t.props(current)
            parts.insert(0, str(props.get("PathPart", "?")))
            current = self.t.target(props.get("ParentId"))
        return "/" + "/".join(parts)

    def event_source_mappings(self) -> None:
        for _, mapping in self.t.of_type("AWS::Lambda::EventSourceMapping"):
            props = mapping.get("Properties") or {}
            source, function = self.first_node(props.get("EventSourceArn")), self.first_node(props.get("FunctionName"))
            if not (source and function):
                continue
            self.event_sources.add((source, function))
            settings = [f"batch {self.t.describe(props.get('BatchSize', 10))}"]
            if "MaximumBatchingWindowInSeconds" in props:
                settings.append(f"window {self.t.describe(props['MaximumBatchingWindowInSeconds'])} s")
            concurrency = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
            if concurrency is not None:
                settings.append(f"max concurrency {self.t.describe(concurrency)}")
            self.edges.append(Edge(source=source, target=function, label=" · ".join(settings)))

    def grants(self) -> None:
        for function_id, function in self.t.of_type("AWS::Lambda::Function"):
            role = self.t.target((function.get("Properties") or {}).get("Role"))
            if not role:
                continue
            actions_by_target: dict[str, list[str]] = {}
            for _, statement in role_statements(self.t, role):
                if statement.get("Effect") != "Allow":
                    continue
                for target in self.t.references(statement.get("Resource")):
                    if target in self.nodes and target != function_id:
                        actions_by_target.setdefault(target, []).extend(as_list(statement.get("Action")))
            for target, actions in actions_by_target.items():
                label = _access(actions)
                if label:
                    self.edges.append(Edge(source=function_id, target=target, label=label))
                elif any(a.lower() in ("sqs:receivemessage", "sqs:*") for a in actions) and (
                        (target, function_id) not in self.event_sources):
                    self.edges.append(Edge(source=target, target=function_id, label="polled"))

    def subscriptions(self) -> None:
        for sub_id, subscription in self.t.of_type("AWS::SNS::Subscription"):
            props = subscription.get("Properties") or {}
            topic = self.first_node(props.get("TopicArn"))
            if not topic:
                continue
            protocol = str(props.get("Protocol", "?"))
            endpoint = self.first_node(props.get("Endpoint"))
            if endpoint is None:
                endpoint = f"Endpoint{sub_id}"
                self.nodes[endpoint] = Node(id=endpoint, kind=f"{protocol} subscriber",
                                            name=self.t.describe(props.get("Endpoint", "")) or protocol,
                                            group=self.nodes[topic].group)
            label = [render_filter_policy(props["FilterPolicy"]) if props.get("FilterPolicy") else "every message"]
            if props.get("FilterPolicyScope") == "MessageBody":
                label[0] += " (body)"
            if props.get("RawMessageDelivery") in (True, "true"):
                label.append("raw")
            self.edges.append(Edge(source=topic, target=endpoint, label=" · ".join(label)))
            dlq = self.first_node((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
            if dlq:
                self.edges.append(Edge(source=topic, target=dlq, label="undeliverable", style="failure"))

    def redrive(self) -> None:
        for queue_id, queue in self.t.of_type("AWS::SQS::Queue"):
            policy = (queue.get("Properties") or {}).get("RedrivePolicy") or {}
            dlq = self.first_node(policy.get("deadLetterTargetArn"))
            if dlq:
                receives = self.t.describe(policy.get("maxReceiveCount", "?"))
                self.edges.append(Edge(source=queue_id, target=dlq, label=f"after {receives} receives",
                                       style="failure"))

    def alarms(self) -> None:
        alarms = read_alarms(self.t, is_node=lambda lid: lid in self.nodes)
        watched = Counter(a.watches for a in alarms if a.watches in self.nodes)
        for node_id, count in watched.items():
            self.nodes[node_id] = replace(self.nodes[node_id], alarms=count)
        notified = Counter(target for a in alarms for target in dict.fromkeys(a.actions) if target in self.nodes)
        for topic, count in notified.items():
            alarm_node = f"Alarms{topic}"
            self.nodes[alarm_node] = Node(id=alarm_node, kind="CloudWatch", name=f"{count} alarms",
                                          group=self.nodes[topic].group)
            self.edges.append(Edge(source=alarm_node, target=topic, label="state changes", style="notify"))

    def build(self) -> Architecture:
        self.api_methods()
        self.event_source_mappings()
        self.grants()
        self.subscriptions()
        self.redrive()
        self.alarms()
        sizes = Counter(n.group for n in self.nodes.values() if n.group)
        nodes = tuple(n if n.group is None or sizes[n.group] > 1 else
                      replace(n, group=None, name=self.t.name(n.id) if n.id in self.t.resources else n.name)
                      for n in self.nodes.values())
        groups = tuple(dict.fromkeys(n.group for n in nodes if n.group))
        return Architecture(nodes=nodes, edges=tuple(self.edges), groups=groups)


def build_architecture(template: Template) -> Architecture:
    return _Builder(template).build()
