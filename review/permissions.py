"""Who may do what: every role's allowed actions and resource policies, with what deserves a second look.

Identity side: for each IAM role, whom it trusts, what uses it, its managed policies and every
statement of its inline and attached policies, with resources named as the resources they point at.
Resource side: policies of topics, queues, buckets and keys, and Lambda permissions: who may publish,
send, decrypt or invoke, under which conditions.

Flagged: a wildcard in an allowed action, `Resource: *` in an identity policy (in a resource policy
`*` means the resource itself), NotAction/NotResource, and an allowed principal outside the account
(anyone, another account, a federated user) unless a condition pins it to the account or a source.
A flag that cdk-nag reported and the project acknowledged carries that acknowledgment's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from review.template import Template, as_list, statements

POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
RESOURCE_POLICIES = {  # policy resource type -> property naming what it protects, property holding the document
    "AWS::SNS::TopicPolicy": ("Topics", "PolicyDocument"), "AWS::SQS::QueuePolicy": ("Queues", "PolicyDocument"),
    "AWS::S3::BucketPolicy": ("Bucket", "PolicyDocument"), "AWS::KMS::Key": (None, "KeyPolicy"),
}
RESTRICTING_CONDITION_KEYS = ("aws:sourcearn", "aws:sourceaccount", "aws:principalaccount", "aws:principalorgid",
                              "aws:sourceowner", "aws:sourcevpce", "aws:sourcevpc", "aws:principalarn")


@dataclass(frozen=True, kw_only=True)
class Flag:
    text: str
    acknowledged: str | None = None  # the acknowledgment's reason, if a scanner reported it and it was accepted


@dataclass(frozen=True, kw_only=True)
class Grant:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    principals: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    source: str = ""
    flags: tuple[Flag, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"effect": self.effect, "actions": list(self.actions), "resources": list(self.resources),
                "principals": list(self.principals), "conditions": list(self.conditions), "source": self.source,
                "flags": [vars(f) for f in self.flags]}


@dataclass(frozen=True, kw_only=True)
class RolePermissions:
    role: str
    trusted: tuple[str, ...]
    used_by: tuple[str, ...]
    managed_policies: tuple[str, ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True, kw_only=True)
class ResourcePolicy:
    resource: str
    resource_type: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True, kw_only=True)
class Permissions:
    roles: tuple[RolePermissions, ...]
    resource_policies: tuple[ResourcePolicy, ...]
    acknowledgments: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def flags(self) -> list[Flag]:
        grants = [g for r in self.roles for g in r.grants] + [g for p in self.resource_policies for g in p.grants]
        return [f for g in grants for f in g.flags]

    def as_dict(self) -> dict[str, Any]:
        return {
            "roles": [{"role": r.role, "trusted": list(r.trusted), "used_by": list(r.used_by),
                       "managed_policies": list(r.managed_policies), "grants": [g.as_dict() for g in r.grants]}
                      for r in self.roles],
            "resource_policies": [{"resource": p.resource, "type": p.resource_type,
                                   "grants": [g.as_dict() for g in p.grants]} for p in self.resource_policies]}


def role_statements(template: Template, role_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(policy name, statement) for every statement that applies to a role: inline and attached policies."""
    found = [(template.describe(p.get("PolicyName", "inline")), s)
             for p in template.props(role_id).get("Policies", []) or [] for s in statements(p.get("PolicyDocument"))]
    for policy_id, policy in template.of_type(*POLICY_TYPES):
        props = policy.get("Properties") or {}
        if role_id in template.references(props.get("Roles", [])):
            found += [(template.name(policy_id), s) for s in statements(props.get("PolicyDocument"))]
    return found


def _resource_text(template: Template, value: Any) -> str:
    text = template.describe(value)
    refs = template.references(value)
    return f"{text} ({template.type_of(refs[0])})" if len(refs) == 1 else text


def _in_account(template: Template, value: Any) -> bool:
    text = template.describe(value)
    return "${AWS::AccountId}" in text or bool(template.references(value))


def _principals(template: Template, principal: Any) -> tuple[list[str], bool]:
    """Readable principals, and whether any is outside the account."""
    if principal in ("*", {"AWS": "*"}):
        return ["anyone (*)"], True
    shown, outside = [], False
    for kind, values in (principal.items() if isinstance(principal, dict) else [("AWS", principal)]):
        for value in as_list(values):
            if kind == "Service":
                shown.append(f"service {template.describe(value)}")
            elif kind == "AWS" and value == "*":
                shown.append("anyone (*)")
                outside = True
            elif kind == "AWS" and _in_account(template, value):
                text = template.describe(value)
                shown.append("this account" if text.endswith(":root") else text)
            else:
                shown.append(f"{kind} {template.describe(value)}")
                outside = True
    return shown, outside


def _conditions(template: Template, condition: Any) -> list[str]:
    return [f"{operator} {key} = {template.describe(value)}"
            for operator, pairs in (condition or {}).items() for key, value in (pairs or {}).items()]


def _grant(template: Template, statement: dict[str, Any], *, source: str, identity: bool,
           acknowledgments: dict[tuple[str, str], str]) -> Grant:
    allow = statement.get("Effect") == "Allow"
    actions = [str(a) for a in as_list(statement.get("Action"))]
    not_actions = [str(a) for a in as_list(statement.get("NotAction"))]
    resources = as_list(statement.get("Resource"))
    principals, outside = _principals(template, statement["Principal"]) if "Principal" in statement else ([], False)
    conditions = _conditions(template, statement.get("Condition"))
    flags: list[Flag] = []

    def flag(text: str, finding: str) -> None:
        flags.append(Flag(text=text, acknowledged=acknowledgments.get((source, finding))))

    if allow:
        for action in actions:
            if "*" in action:
                flag(f"wildcard action {action}", f"Action::{action}")
        if not_actions:
            flag(f"NotAction {', '.join(not_actions)} allows everything else", "NotAction")
        if "NotResource" in statement:
            flag("NotResource allows every other resource", "NotResource")
        if identity and "*" in resources:
            flag("Resource: *", "Resource::*")
        restricted = any(key.lower() in RESTRICTING_CONDITION_KEYS
                         for pairs in (statement.get("Condition") or {}).values() for key in (pairs or {}))
        if outside and not restricted:
            flag(f"principal outside the account: {', '.join(principals)}", "Principal")
    shown_actions = actions or [f"NotAction {a}" for a in not_actions]
    return Grant(effect=str(statement.get("Effect", "?")), actions=tuple(shown_actions),
                 resources=tuple(_resource_text(template, r) for r in resources) or ("(this resource)",),
                 principals=tuple(principals), conditions=tuple(conditions), source=source, flags=tuple(flags))


def _role_permissions(template: Template, role_id: str, acknowledgments: dict[tuple[str, str], str]) -> RolePermissions:
    props = template.props(role_id)
    trusted = [p for s in statements(props.get("AssumeRolePolicyDocument")) if "Principal" in s
               for p in _principals(template, s["Principal"])[0]]
    used_by = [template.name(lid) for lid, r in template.resources.items()
               if lid != role_id and r.get("Type") != "AWS::IAM::Policy"
               and role_id in template.references((r.get("Properties") or {}).get("Role"))]
    managed = [template.describe(arn).replace("arn:${AWS::Partition}:iam::aws:policy/", "AWS managed: ")
               for arn in props.get("ManagedPolicyArns", []) or []]
    grants = [_grant(template, s, source=source, identity=True, acknowledgments=acknowledgments)
              for source, s in role_statements(template, role_id)]
    return RolePermissions(role=template.name(role_id), trusted=tuple(dict.fromkeys(trusted)),
                           used_by=tuple(used_by), managed_policies=tuple(managed), grants=tuple(grants))


def _lambda_permission(template: Template, lid: str) -> ResourcePolicy:
    props = template.props(lid)
    principal = props.get("Principal", "?")
    service = isinstance(principal, str) and principal.endswith(".amazonaws.com")
    statement: dict[str, Any] = {"Effect": "Allow", "Action": props.get("Action"),
                                 "Resource": props.get("FunctionName"),
                                 "Principal": {"Service": principal} if service else {"AWS": principal}}
    condition = {key: value for key, value in (("aws:SourceArn", props.get("SourceArn")),
                                              ("aws:SourceAccount", props.get("SourceAccount"))) if value}
    if condition:
        statement["Condition"] = {"ArnLike": condition}
    function = template.target(props.get("FunctionName"))
    return ResourcePolicy(resource=template.name(function) if function else template.name(lid),
                          resource_type=template.type_of(function) if function else "AWS::Lambda::Function",
                          grants=(_grant(template, statement, source=template.name(lid), identity=False,
                                         acknowledgments={}),))


def nag_acknowledgments(template: Template, report: dict[str, Any] | None) -> dict[tuple[str, str], str]:
    """(resource name, finding detail such as "Resource::*") -> reason, from cdk-nag's acknowledged findings."""
    found: dict[tuple[str, str], str] = {}
    by_path = {f"{template.stack_name}/{path}": lid for lid, path in template.paths.items()}
    for plugin in (report or {}).get("pluginReports", []):
        for violation in plugin.get("suppressedViolations", []):
            rule = violation.get("ruleName", "")
            detail = rule[rule.index("[") + 1:-1] if rule.endswith("]") and "[" in rule else ""
            for construct in violation.get("violatingConstructs", []):
                lid = by_path.get(construct.get("constructPath", ""))
                if lid and detail:
                    found[(template.name(lid), detail)] = f"{rule.split('[')[0]}: {violation.get('reason', '')}"
    return found


def read_permissions(template: Template, validation_report: dict[str, Any] | None = None) -> Permissions:
    acknowledgments = nag_acknowledgments(template, validation_report)
    roles = tuple(_role_permissions(template, lid, acknowledgments) for lid, _ in template.of_type("AWS::IAM::Role"))
    policies: list[ResourcePolicy] = []
    for lid, resource in template.resources.items():
        kind = resource.get("Type", "")
        if kind == "AWS::Lambda::Permission":
            policies.append(_lambda_permission(template, lid))
            continue
        if kind not in RESOURCE_POLICIES:
            continue
        target_property, document_property = RESOURCE_POLICIES[kind]
        props = resource.get("Properties") or {}
        targets = template.references(props.get(target_property)) if target_property else [lid]
        name = ", ".join(template.name(t) for t in targets) or template.name(lid)
        grants = tuple(_grant(template, s, source=template.name(lid), identity=False, acknowledgments=acknowledgments)
                       for s in statements(props.get(document_property)))
        policies.append(ResourcePolicy(resource=name, resource_type=template.type_of(targets[0]) if targets else kind,
                                       grants=grants))
    merged: dict[tuple[str, str], list[Grant]] = {}
    for policy in policies:  # one entry per protected resource (a queue policy, Lambda permissions)
        merged.setdefault((policy.resource, policy.resource_type), []).extend(policy.grants)
    return Permissions(roles=roles, acknowledgments=acknowledgments, resource_policies=tuple(
        ResourcePolicy(resource=name, resource_type=kind, grants=tuple(grants))
        for (name, kind), grants in merged.items()))
