"""CloudFormation's reads of the stack the local cloud deployed: DescribeStacks, ListStackResources,
DescribeStackResource(s), DescribeStackEvents and GetTemplate.

The local cloud creates the stack's resources itself (local/cloudformation/resources.py), not through moto's
CloudFormation, so moto knows no stack. The reads a user makes of a deployed stack
(`aws cloudformation describe-stacks`, `describe-stack-events`, `get-template`, `wildrydes --target aws`
with AWS_ENDPOINT_URL, preflight) are answered here, in CloudFormation's own XML: the outputs as the local
cloud serves them (the API URL is the local API's), the template as synthesized, and one event per step
of the creation with the time it happened. Lists come in pages of 100 with a NextToken, as on AWS. Every
other CloudFormation call goes to moto.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from local.cloudformation.deployment import Deployment
from local.cloudformation.stack_order import StackEvent
from local.options import ACCOUNT

NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
PAGE = 100  # ListStackResources and DescribeStackEvents pages
Element = ElementTree.Element


def _element(parent: Element, tag: str, text: Any = None) -> Element:
    child = ElementTree.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


def _fields(parent: Element, values: dict[str, Any]) -> None:
    for tag, value in values.items():
        if value is not None:
            _element(parent, tag, value)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ReadError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StackReads:
    """The deployed stack as CloudFormation describes it."""

    def __init__(self, deployment: Deployment, template: dict[str, Any], region: str,
                 events: list[StackEvent] | None = None) -> None:
        self.deployment, self.template, self.region = deployment, template, region
        self.events = list(events or [])
        started = self.events[0].timestamp if self.events else datetime.now(UTC)
        ended = self.events[-1].timestamp if self.events else started
        self.created = _time(started)
        self.completed = {e.logical_id: e.timestamp for e in self.events if e.status == "CREATE_COMPLETE"}
        self.stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{deployment.stack_name}/{uuid.uuid4()}"
        self.outputs = dict(deployment.outputs)
        name = deployment.stack_name
        # Newest first, as DescribeStackEvents lists them: the stack's own events around its resources'.
        self.stack_events = [StackEvent(name, "AWS::CloudFormation::Stack", self.stack_id, "CREATE_COMPLETE", ended),
                             *reversed(self.events),
                             StackEvent(name, "AWS::CloudFormation::Stack", self.stack_id, "CREATE_IN_PROGRESS",
                                        started)]
        self.actions: dict[str, Callable[[dict[str, str], Element], None]] = {
            "DescribeStacks": self._describe, "ListStackResources": self._resources,
            "DescribeStackResource": self._resource, "DescribeStackResources": self._stack_resources,
            "DescribeStackEvents": self._events, "GetTemplate": self._template}

    def answer(self, body: bytes) -> tuple[str, bytes] | None:
        """(HTTP status, XML) for a call answered here; None for a call moto answers."""
        query = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = query.get("Action", "")
        if action not in self.actions:
            return None
        try:
            if action != "DescribeStackResources" or "PhysicalResourceId" not in query:
                self._check_stack(query.get("StackName"), required=action != "DescribeStacks")
            root = Element(f"{action}Response", xmlns=NAMESPACE)
            self.actions[action](query, _element(root, f"{action}Result"))
            _element(_element(root, "ResponseMetadata"), "RequestId", uuid.uuid4())
        except ReadError as error:
            return "400 Bad Request", self._error(error.message)
        return "200 OK", ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    def _check_stack(self, wanted: str | None, *, required: bool) -> None:
        if wanted is None:
            if required:
                raise ReadError("1 validation error detected: Value null at 'stackName' failed to satisfy "
                                "constraint: Member must not be null")
            return  # DescribeStacks without a name lists every stack: this one
        if wanted not in (self.deployment.stack_name, self.stack_id):
            raise ReadError(f"Stack with id {wanted} does not exist")

    def _page(self, items: list[Any], query: dict[str, str], result: Element) -> list[Any]:
        token = query.get("NextToken")
        start = int(token) if token and token.isdigit() else 0
        if token and (not token.isdigit() or start > len(items)):
            raise ReadError("Invalid NextToken")
        if start + PAGE < len(items):
            _element(result, "NextToken", start + PAGE)
        return items[start:start + PAGE]

    def _ids(self, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        return {"StackName": self.deployment.stack_name, "StackId": self.stack_id, "LogicalResourceId": logical_id,
                "PhysicalResourceId": self.deployment.physical_ids.get(logical_id, ""),
                "ResourceType": resource["Type"]}

    def _updated(self, logical_id: str) -> str:
        moment = self.completed.get(logical_id)
        return _time(moment) if moment else self.created

    # -- one method per action: (query, result element) ----------------------------------------------
    def _describe(self, query: dict[str, str], result: Element) -> None:
        stack = _element(_element(result, "Stacks"), "member")
        _fields(stack, {"StackName": self.deployment.stack_name, "StackId": self.stack_id,
                        "CreationTime": self.created, "StackStatus": "CREATE_COMPLETE",
                        "Description": self.template.get("Description", "")})
        parameters = _element(stack, "Parameters")
        for key, value in self.deployment.parameters.items():
            _fields(_element(parameters, "member"), {"ParameterKey": key, "ParameterValue": value})
        outputs = _element(stack, "Outputs")
        for key, value in self.outputs.items():
            description = self.template.get("Outputs", {}).get(key, {}).get("Description", "")
            _fields(_element(outputs, "member"), {"OutputKey": key, "OutputValue": value, "Description": description})

    def _resources(self, query: dict[str, str], result: Element) -> None:
        summaries = _element(result, "StackResourceSummaries")
        for logical_id, resource in self._page(list(self.template["Resources"].items()), query, result):
            _fields(_element(summaries, "member"), {
                "LogicalResourceId": logical_id, "PhysicalResourceId": self.deployment.physical_ids.get(logical_id, ""),
                "ResourceType": resource["Type"], "LastUpdatedTimestamp": self._updated(logical_id),
                "ResourceStatus": "CREATE_COMPLETE"})

    def _resource(self, query: dict[str, str], result: Element) -> None:
        logical_id = query.get("LogicalResourceId", "")
        resource = self.template["Resources"].get(logical_id)
        if resource is None:
            raise ReadError(f"Resource {logical_id} does not exist for stack {self.deployment.stack_name}")
        metadata = resource.get("Metadata")
        _fields(_element(result, "StackResourceDetail"), {
            **self._ids(logical_id, resource), "LastUpdatedTimestamp": self._updated(logical_id),
            "ResourceStatus": "CREATE_COMPLETE", "Metadata": json.dumps(metadata) if metadata else None})

    def _stack_resources(self, query: dict[str, str], result: Element) -> None:
        chosen = list(self.template["Resources"].items())
        physical = query.get("PhysicalResourceId")  # which stack holds it: every resource of that stack
        if physical is not None and physical not in self.deployment.physical_ids.values():
            raise ReadError(f"Stack for {physical} does not exist")
        if "LogicalResourceId" in query:
            chosen = [(k, r) for k, r in chosen if k == query["LogicalResourceId"]]
        members = _element(result, "StackResources")
        for logical_id, resource in chosen:
            _fields(_element(members, "member"), {**self._ids(logical_id, resource),
                                                  "Timestamp": self._updated(logical_id),
                                                  "ResourceStatus": "CREATE_COMPLETE"})

    def _events(self, query: dict[str, str], result: Element) -> None:
        members = _element(result, "StackEvents")
        for number, event in self._page(list(enumerate(self.stack_events)), query, result):
            _fields(_element(members, "member"), {
                "StackId": self.stack_id, "EventId": f"{event.logical_id}-{event.status}-{number}",
                "StackName": self.deployment.stack_name, "LogicalResourceId": event.logical_id,
                "PhysicalResourceId": event.physical_id, "ResourceType": event.resource_type,
                "Timestamp": _time(event.timestamp), "ResourceStatus": event.status,
                "ResourceStatusReason": "User Initiated" if event.resource_type == "AWS::CloudFormation::Stack"
                and event.status == "CREATE_IN_PROGRESS" else None})

    def _template(self, query: dict[str, str], result: Element) -> None:
        _element(result, "TemplateBody", json.dumps(self.template, indent=1))
        stages = _element(result, "StagesAvailable")
        for stage in ("Original", "Processed"):
            _element(stages, "member", stage)

    @staticmethod
    def _error(message: str) -> bytes:
        root = Element("ErrorResponse", xmlns=NAMESPACE)
        _fields(_element(root, "Error"), {"Type": "Sender", "Code": "ValidationError", "Message": message})
        _element(root, "RequestId", uuid.uuid4())
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
