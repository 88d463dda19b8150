"""Parsing, validating and sizing policy documents (local/iam/documents.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.iam.documents import (
    MalformedPolicy,
    PolicyKind,
    PolicySource,
    PolicyTooLarge,
    check_role_inline_total,
    parse_policy,
)

QUEUE = "arn:aws:sqs:us-east-1:123456789012:CustomerNotificationQueue"
IDENTITY, RESOURCE = PolicyKind.IDENTITY, PolicyKind.RESOURCE


def statement(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE, **fields}


def document(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    body: dict[str, Any] = {"Statement": list(statements)}
    return body if version is None else {"Version": version, **body}


def test_a_single_statement_object_and_a_missing_version_are_accepted():
    """Proves Statement may be one object and that no Version means 2008-10-17."""
    # Given an inline policy without Version whose Statement is an object, not a list
    text = json.dumps({"Statement": statement(Sid="Send")})
    # When it is parsed
    policy = parse_policy(text, PolicySource.ROLE_INLINE)
    # Then it has one statement, version 2008-10-17, and its Sid
    assert (policy.version, len(policy.statements), policy.statements[0].sid) == ("2008-10-17", 1, "Send")


def test_a_managed_policy_must_be_version_2012():
    """Proves only managed policies are refused for the 2008 version, with IAM's message."""
    # Given the same document without Version
    # When it is a managed policy, then an inline policy or a queue policy
    # Then only the managed policy is refused
    with pytest.raises(MalformedPolicy, match=r"^Policy document must be version 2012-10-17 or greater\.$"):
        parse_policy(document(statement(), version=None), PolicySource.MANAGED)
    parse_policy(document(statement(), version="2008-10-17"), PolicySource.ROLE_INLINE)
    parse_policy(document(statement(Principal="*"), version=None), PolicySource.SQS_QUEUE)


@pytest.mark.parametrize(("given", "kind", "message"), [
    ("{not json", IDENTITY, "Syntax errors in policy."),
    ([statement()], IDENTITY, "Syntax errors in policy."),
    (document(statement(), version="2012-10-18"), IDENTITY, "The policy failed legacy parsing"),
    ({"Version": "2012-10-17"}, IDENTITY, "Missing required field Statement"),
    ({"Version": "2012-10-17", "Statment": [statement()]}, IDENTITY, "Syntax errors in policy."),
    (document({"Action": "sqs:SendMessage", "Resource": QUEUE}), IDENTITY, "Missing required field Effect"),
    (document(statement(Effect="allow")), IDENTITY, "Syntax errors in policy."),
    (document({"Effect": "Allow", "Resource": QUEUE}), IDENTITY, "Policy statement must contain actions."),
    (document(statement(Action=[])), IDENTITY, "Policy statement must contain actions."),
    (document(statement(NotAction="sqs:DeleteQueue")), IDENTITY, "Syntax errors in policy."),
    (document({"Effect": "Allow", "Action": "sqs:*"}), IDENTITY, "Policy statement must contain resources."),
    (document(statement(NotResource="*")), IDENTITY, "Syntax errors in policy."),
    (document(statement(Actions="sqs:*")), IDENTITY, "Syntax errors in policy."),
    (document(statement(Principal="*")), IDENTITY, "Has prohibited field Principal"),
    (document(statement(NotPrincipal={"AWS": "123456789012"})), IDENTITY, "Has prohibited field NotPrincipal"),
    (document(statement()), RESOURCE, "Missing required field Principal"),
    (document(statement(Principal="*", NotPrincipal="*")), RESOURCE, "Syntax errors in policy."),
    (document(statement(Principal={"AWS": "arn:aws:iam::123456789012:role/*"})), RESOURCE,
     "Invalid principal in policy"),
    (document(statement(Principal={"AWS": "bob"})), RESOURCE, "Invalid principal in policy"),
    (document(statement(Principal="arn:aws:iam::123456789012:root")), RESOURCE, "Invalid principal in policy"),
    (document(statement(Principal={"Users": "bob"})), RESOURCE, "Invalid principal in policy"),
    (document(statement(Action="SendMessage")), IDENTITY,
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (document(statement(Resource="CustomerNotificationQueue")), IDENTITY,
     'Resource CustomerNotificationQueue must be in ARN format or "*".'),
    (document(statement(Condition={"StringEqualz": {"aws:SourceArn": QUEUE}})), IDENTITY,
     "Syntax errors in policy."),
    (document(statement(Condition={"Bool": "aws:SecureTransport"})), IDENTITY, "Syntax errors in policy."),
])
def test_malformed_documents_are_refused_with_iams_message(given, kind, message):
    """Proves each malformed case raises MalformedPolicy worded as IAM's MalformedPolicyDocument."""
    # Given a document IAM (or the service holding it) refuses
    # When it is parsed
    with pytest.raises(MalformedPolicy) as refused:
        parse_policy(given, kind)
    # Then the error carries IAM's message
    assert str(refused.value) == message


def test_an_unknown_operator_keeps_its_name_in_the_detail():
    """Proves the refusal of an unknown operator says which one, beside IAM's terse message."""
    # Given a condition with a misspelt operator
    # When the policy is parsed
    with pytest.raises(MalformedPolicy) as refused:
        parse_policy(document(statement(Condition={"StringEqualz": {"aws:SourceArn": QUEUE}})), IDENTITY)
    # Then the detail names the operator
    assert "StringEqualz" in refused.value.detail


def test_principals_are_normalised_when_parsed():
    """Proves account ids and root ARNs mean the same account, and service names compare in lower case."""
    # Given a statement naming an account both ways, a role, a service and a federated provider
    principal = {"AWS": ["123456789012", "arn:aws:iam::210987654321:root", "arn:aws:iam::123456789012:role/R"],
                 "Service": "SNS.amazonaws.com", "Federated": "cognito-identity.amazonaws.com"}
    # When the policy is parsed
    parsed = parse_policy(document(statement(Principal=principal)), RESOURCE).statements[0].principals
    # Then the accounts, the ARN and the service are apart, and nothing matches everyone
    assert parsed is not None
    assert parsed.accounts == {"123456789012", "210987654321"}
    assert parsed.arns == {"arn:aws:iam::123456789012:role/R"}
    assert (parsed.services, parsed.any) == ({"sns.amazonaws.com"}, False)


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_every_spelling_of_everyone_is_any(principal):
    """Proves "*" and {"AWS": "*"} are the same principal, as the Principal page says."""
    # Given a statement for everyone
    # When it is parsed
    parsed = parse_policy(document(statement(Principal=principal)), RESOURCE).statements[0].principals
    # Then it matches any caller
    assert parsed is not None and parsed.any


def test_actions_are_compiled_case_insensitively_and_resources_case_sensitively():
    """Proves Action matching ignores case and Resource matching does not, wildcards included."""
    # Given a statement with a wildcard action and a wildcard resource
    parsed = parse_policy(document(statement(Action=["SQS:Receive*", "sqs:DeleteMessage"],
                                             Resource="arn:aws:sqs:*:123456789012:Customer?otification*")),
                          IDENTITY).statements[0]
    # When actions and resources are matched (the evaluator lower-cases the action)
    # Then action case does not matter, resource case does, and `?` is exactly one character
    assert parsed.actions.matches("sqs:receivemessage", {}) and parsed.actions.matches("sqs:deletemessage", {})
    assert not parsed.actions.matches("sqs:sendmessage", {})
    assert parsed.resources.matches(QUEUE, {})
    assert not parsed.resources.matches(QUEUE.replace("Customer", "customer"), {})
    assert not parsed.resources.matches(QUEUE.replace("Notification", "XXNotification"), {})


def test_not_action_and_not_resource_match_everything_else():
    """Proves NotAction and NotResource invert the match."""
    # Given a statement on everything but DeleteQueue, anywhere but one queue
    parsed = parse_policy(document({"Effect": "Deny", "NotAction": "sqs:DeleteQueue", "NotResource": QUEUE}),
                          IDENTITY).statements[0]
    # When other actions and resources are matched
    # Then NotAction covers sqs:sendmessage but not sqs:deletequeue, NotResource every other ARN
    assert parsed.actions.matches("sqs:sendmessage", {}) and not parsed.actions.matches("sqs:deletequeue", {})
    assert parsed.resources.matches(QUEUE + "-dlq", {}) and not parsed.resources.matches(QUEUE, {})


def test_unknown_condition_keys_are_listed_at_parse_time():
    """Proves a typo'd condition key is visible as soon as the policy is parsed."""
    # Given a policy conditioned on aws:SourceAcount (sic) and a known key
    condition = {"StringEquals": {"aws:SourceAcount": "123456789012", "aws:SourceAccount": "123456789012"}}
    # When it is parsed
    policy = parse_policy(document(statement(Condition=condition)), IDENTITY)
    # Then only the typo is listed
    assert policy.unknown_condition_keys == ("aws:sourceacount",)


def sized(source: PolicySource, size: int, *, indent: int | None = None) -> str:
    """A policy document of about `size` units (as the source counts them), padded with Resource ARNs."""
    kind_fields = {"Principal": "*"} if source.kind is RESOURCE else {}
    resources = [QUEUE]
    text = json.dumps(document(statement(Resource=resources, **kind_fields)), indent=indent)
    while source.measure(text) < size:
        resources.append(f"{QUEUE}-{len(resources):05d}")
        text = json.dumps(document(statement(Resource=resources, **kind_fields)), indent=indent)
    return text


@pytest.mark.parametrize(("source", "limit"), [
    (PolicySource.ROLE_INLINE, 10_240), (PolicySource.MANAGED, 6_144), (PolicySource.SQS_QUEUE, 20_480),
    (PolicySource.SNS_TOPIC, 30_720), (PolicySource.KMS_KEY, 32_768), (PolicySource.LAMBDA_FUNCTION, 20_480),
])
def test_each_source_has_its_quota(source, limit):
    """Proves each kind of document is refused just past its documented quota and accepted under it."""
    # Given documents just under and just past the quota
    under, over = sized(source, limit - 100), sized(source, limit + 1)
    # When they are parsed for that source
    # Then the first passes, and the second fails with the quota and its size
    assert parse_policy(under, source).size <= limit
    with pytest.raises(PolicyTooLarge) as refused:
        parse_policy(over, source)
    assert refused.value.limit == limit and refused.value.size == source.measure(over) > limit


def test_iam_does_not_count_whitespace_but_queue_policies_do():
    """Proves IAM quotas exclude whitespace while resource policy quotas are bytes of the text as sent."""
    # Given an indented document whose non-space characters stay under 6,144 and whose bytes do not
    text = sized(PolicySource.MANAGED, 6_000, indent=8)
    assert len(text.encode()) > 6_144
    # When it is parsed as a managed policy
    # Then it is accepted, while as a policy counted in bytes its whitespace counts
    assert parse_policy(text, PolicySource.MANAGED).size <= 6_144
    assert PolicySource.SQS_QUEUE.measure(text) == len(text.encode())


def test_a_roles_inline_policies_share_one_quota():
    """Proves the 10,240 characters are the total of all inline policies of a role."""
    # Given two inline policies of about 6,000 characters each, each under the quota on its own
    first = parse_policy(sized(PolicySource.ROLE_INLINE, 6_000), PolicySource.ROLE_INLINE)
    second = parse_policy(sized(PolicySource.ROLE_INLINE, 6_000), PolicySource.ROLE_INLINE)
    # When the role holds one, then both
    # Then one fits, and the two together exceed the aggregate quota
    assert check_role_inline_total([first]) == first.size
    with pytest.raises(PolicyTooLarge) as refused:
        check_role_inline_total([first, second])
    assert (refused.value.limit, refused.value.size) == (10_240, first.size + second.size)
