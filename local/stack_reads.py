"""CloudFormation's read APIs for the stack the local cloud deployed: DescribeStacks, ListStackResources.

The local cloud creates the stack's resources itself (local/provision.py), not through moto's
CloudFormation, so moto knows no stack. Tools that find a stack's outputs the usual way
(`aws cloudformation describe-stacks`, `wildrydes --target aws` with AWS_ENDPOINT_URL, preflight)
should still find it: these two calls are answered here, in CloudFormation's own XML, with the
outputs as the local cloud serves them (the API URL is the local API's). Every other CloudFormation
call goes to moto.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from local.deploy import ACCOUNT, Deployment

NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
ANSWERED = ("DescribeStacks", "ListStackResources")


def _element(parent: ElementTree.Element, tag: str, text: Any = None) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


class StackReads:
    """The deployed stack as CloudFormation describes it."""

    def __init__(self, deployment: Deployment, template: dict[str, Any], region: str) -> None:
        self.deployment, self.template, self.region = deployment, template, region
        self.created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{deployment.stack_name}/{uuid.uuid4()}"
        self.outputs = dict(deployment.outputs)

    def answer(self, body: bytes) -> tuple[str, bytes] | None:
        """(HTTP status, XML) for a call answered here; None for a call moto answers."""
        query = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = query.get("Action")
        if action not in ANSWERED:
            return None
        wanted = query.get("StackName")  # DescribeStacks without one lists every stack: this one
        if wanted is not None and wanted not in (self.deployment.stack_name, self.stack_id):
            return "400 Bad Request", self._error(f"Stack with id {wanted} does not exist")
        return "200 OK", self._describe() if action == "DescribeStacks" else self._resources()

    def _document(self, action: str) -> tuple[ElementTree.Element, ElementTree.Element]:
        root = ElementTree.Element(f"{action}Response", xmlns=NAMESPACE)
        result = _element(root, f"{action}Result")
        _element(_element(root, "ResponseMetadata"), "RequestId", uuid.uuid4())
        return root, result

    def _describe(self) -> bytes:
        root, result = self._document("DescribeStacks")
        stack = _element(_element(result, "Stacks"), "member")
        for tag, value in (("StackName", self.deployment.stack_name), ("StackId", self.stack_id),
                           ("CreationTime", self.created), ("StackStatus", "CREATE_COMPLETE"),
                           ("Description", self.template.get("Description", ""))):
            _element(stack, tag, value)
        parameters = _element(stack, "Parameters")
        for key, value in self.deployment.parameters.items():
            member = _element(parameters, "member")
            _element(member, "ParameterKey", key)
            _element(member, "ParameterValue", value)
        outputs = _element(stack, "Outputs")
        for key, value in self.outputs.items():
            member = _element(outputs, "member")
            _element(member, "OutputKey", key)
            _element(member, "OutputValue", value)
            _element(member, "Description", self.template.get("Outputs", {}).get(key, {}).get("Description", ""))
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    def _resources(self) -> bytes:
        root, result = self._document("ListStackResources")
        summaries = _element(result, "StackResourceSummaries")
        for logical_id, resource in self.template["Resources"].items():
            member = _element(summaries, "member")
            for tag, value in (("LogicalResourceId", logical_id),
                               ("PhysicalResourceId", self.deployment.physical_ids.get(logical_id, "")),
                               ("ResourceType", resource["Type"]), ("LastUpdatedTimestamp", self.created),
                               ("ResourceStatus", "CREATE_COMPLETE")):
                _element(member, tag, value)
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    @staticmethod
    def _error(message: str) -> bytes:
        root = ElementTree.Element("ErrorResponse", xmlns=NAMESPACE)
        error = _element(root, "Error")
        for tag, value in (("Type", "Sender"), ("Code", "ValidationError"), ("Message", message)):
            _element(error, tag, value)
        _element(root, "RequestId", uuid.uuid4())
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
