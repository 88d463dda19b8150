"""How CloudFormation orders a stack's creation and names what has no name of its own, and what it reports.

Every resource is created after everything it refers to (Ref, Fn::GetAtt, Fn::Sub) or depends on
(DependsOn); a circle stops the deploy. A resource without a name of its own is named
`<stack>-<logical id>-<13 random characters>`, cut to its type's limit. Each step is a StackEvent, as
DescribeStackEvents lists it.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloud_assembly import references

# CloudFormation's limit on a generated name, per type (longer stack-logical-id prefixes are cut).
NAME_LIMITS = {"AWS::SQS::Queue": 80, "AWS::Lambda::Function": 64, "AWS::IAM::Role": 64, "AWS::SNS::Topic": 256,
               "AWS::IAM::ManagedPolicy": 128, "AWS::DynamoDB::Table": 255, "AWS::Logs::LogGroup": 512}


@dataclass(frozen=True)
class StackEvent:
    """One step of the creation, as CloudFormation's DescribeStackEvents lists it."""

    logical_id: str
    resource_type: str
    physical_id: str
    status: str  # CREATE_IN_PROGRESS, CREATE_COMPLETE
    timestamp: datetime


class ProvisionError(RuntimeError):
    """A resource could not be created locally; the message names it."""


def physical_name(stack: str, logical_id: str, limit: int) -> str:
    """A name as CloudFormation generates it for a resource without one of its own."""
    suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=13))
    return f"{f'{stack}-{logical_id}'[: limit - 14]}-{suffix}"


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids, each after everything it refers to or depends on."""
    needs = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        needs[logical_id] = ({*references(resource.get("Properties", {})),
                              *([depends] if isinstance(depends, str) else depends)} & set(resources)) - {logical_id}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(needs):
        ready = sorted(r for r, n in needs.items() if r not in done and n <= done)
        if not ready:
            raise ProvisionError(f"the template's references go round in a circle: {sorted(set(needs) - done)}")
        order += ready
        done.update(ready)
    return order
