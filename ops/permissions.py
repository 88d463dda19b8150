"""What the stack's principals were refused, used, and were granted but never used: least privilege, measured.

- **Local:** the local cloud judges every call and keeps each decision (local/iam/record.py); this reads that
  record from its control endpoint (`GET /_localcloud/permissions`): `denied`, `used` and `unused`, each entry
  holding `principal`, `action` and `resource`.
- **AWS:** IAM's last-accessed data (`GenerateServiceLastAccessedDetails`, then
  `GetServiceLastAccessedDetails`) for each role of the stack. It knows services, not actions (action level
  only for a few services), and keeps no record of refusals: `denied` is empty and `note` says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aws_clients.control import ControlClient, ControlError
from ops.errors import OpsError
from ops.target import Target

AWS_NOTE = ("on AWS, IAM's last-accessed data tells which services each role used (not each action), and nothing "
            "of refusals: CloudTrail's AccessDenied events do")
JOB_WAIT_SECONDS = 60.0
POLL_SECONDS = 1.0


@dataclass
class Permissions:
    enforced: bool | None  # None: not known (AWS always enforces)
    denied: list[dict[str, Any]] = field(default_factory=list)
    used: list[dict[str, Any]] = field(default_factory=list)
    unused: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"enforced": self.enforced, "denied": self.denied, "used": self.used, "unused": self.unused,
                "note": self.note}


def permissions(target: Target) -> Permissions:
    return _local(target) if target.kind == "local" else _aws(target)


def _local(target: Target) -> Permissions:
    try:
        record = ControlClient(target.endpoint_url or "", target.ca_bundle, timeout=30).call("GET", "permissions")
    except ControlError as error:
        raise OpsError(f"the local cloud did not give its decision record: {error}") from error
    return Permissions(enforced=bool(record.get("enforced")), denied=list(record.get("denied", [])),
                       used=list(record.get("used", [])), unused=list(record.get("unused", [])),
                       note="" if record.get("enforced") else
                       "enforcement is OFF (ENFORCE_IAM=0): refusals are recorded, not enforced")


def stack_roles(target: Target) -> list[str]:
    """The ARNs of the stack's IAM roles (ListStackResources)."""
    cloudformation, iam = target.client("cloudformation"), target.client("iam")
    names = [r["PhysicalResourceId"]
             for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=target.stack_name)
             for r in page["StackResourceSummaries"] if r["ResourceType"] == "AWS::IAM::Role"]
    return [str(iam.get_role(RoleName=name)["Role"]["Arn"]) for name in names]


def _aws(target: Target, wait_seconds: float = JOB_WAIT_SECONDS) -> Permissions:
    iam = target.client("iam")
    found = Permissions(enforced=None, note=AWS_NOTE)
    for role in stack_roles(target):
        job = iam.generate_service_last_accessed_details(Arn=role)["JobId"]
        deadline = time.monotonic() + wait_seconds
        while True:
            details = iam.get_service_last_accessed_details(JobId=job)
            if details["JobStatus"] != "IN_PROGRESS":
                break
            if time.monotonic() > deadline:
                raise OpsError(f"IAM's last-accessed report for {role} was not ready within {wait_seconds:.0f} s")
            time.sleep(POLL_SECONDS)
        if details["JobStatus"] == "FAILED":
            raise OpsError(f"IAM could not report on {role}: {details.get('Error', {}).get('Message', 'FAILED')}")
        for service in details.get("ServicesLastAccessed", []):
            entry = {"principal": role, "action": f"{service['ServiceNamespace']}:*", "resource": "*",
                     "last_used": str(service["LastAuthenticated"]) if service.get("LastAuthenticated") else None}
            (found.used if entry["last_used"] else found.unused).append(entry)
    return found
