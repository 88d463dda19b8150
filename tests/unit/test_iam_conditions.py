"""Condition operators, missing keys, set qualifiers, policy variables and unknown keys (local/iam/conditions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam.conditions import ConditionError, compile_conditions, context_values, parse_date

TOPIC = "arn:aws:sns:us-east-1:123456789012:RideTopic"


def holds(block: dict[str, Any], context: dict[str, Any] | None = None, *, deny: bool = False,
          variables: bool = True) -> tuple[bool, list[str]]:
    """Whether the Condition block holds for the request context, and the unknown keys it warned about."""
    compiled = compile_conditions(block, variables=variables, deny=deny)
    values = {key.lower(): context_values(value) for key, value in (context or {}).items()}
    warnings: list[str] = []
    return compiled.holds(values, warnings), warnings


# (operator, policy value, request value, expected): a pass and a fail for every operator.
OPERATOR_CASES = [
    ("StringEquals", "ride", "ride", True), ("StringEquals", "ride", "Ride", False),
    ("StringNotEquals", "ride", "taxi", True), ("StringNotEquals", "ride", "ride", False),
    ("StringEqualsIgnoreCase", "Ride", "rIDE", True), ("StringEqualsIgnoreCase", "ride", "rides", False),
    ("StringNotEqualsIgnoreCase", "ride", "TAXI", True), ("StringNotEqualsIgnoreCase", "ride", "RIDE", False),
    ("StringLike", "ride-*-q?", "ride-acct-q1", True), ("StringLike", "ride-*-q?", "ride-acct-q12", False),
    ("StringNotLike", "ride-*", "taxi-1", True), ("StringNotLike", "ride-*", "ride-1", False),
    ("NumericEquals", "10", 10, True), ("NumericEquals", "10", 11, False),
    ("NumericNotEquals", "10", 11, True), ("NumericNotEquals", "10", "10.0", False),
    ("NumericLessThan", "10", 9.5, True), ("NumericLessThan", "10", 10, False),
    ("NumericLessThanEquals", "10", 10, True), ("NumericLessThanEquals", "10", 11, False),
    ("NumericGreaterThan", "10", 11, True), ("NumericGreaterThan", "10", 10, False),
    ("NumericGreaterThanEquals", "10", 10, True), ("NumericGreaterThanEquals", "10", 9, False),
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00", True),
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", False),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "1704067201", True),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "1704067200", False),
    ("DateLessThan", "2024-01-01T00:00:00Z", "1704067199", True),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
    ("DateLessThanEquals", "1704067200", "2024-01-01T00:00:00Z", True),
    ("DateLessThanEquals", "1704067200", "2024-01-01T00:00:01Z", False),
    ("DateGreaterThan", "2024-01-01", "2024-01-01T00:00:01Z", True),
    ("DateGreaterThan", "2024-01-01", "2023-12-31T23:59:59Z", False),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", False),
    ("Bool", "true", True, True), ("Bool", "false", "true", False),
    ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", b"BinaryValueInBase64", True),
    ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", b"another value", False),
    ("IpAddress", "203.0.113.0/24", "203.0.113.7", True), ("IpAddress", "203.0.113.0/24", "198.51.100.7", False),
    ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::1", True),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.7", True), ("NotIpAddress", "203.0.113.0/24", "203.0.113.9", False),
    ("ArnEquals", "arn:aws:sns:*:123456789012:Ride*", TOPIC, True),
    ("ArnEquals", "arn:aws:sns:*:123456789012:Ride*", TOPIC.replace("123456789012", "210987654321"), False),
    ("ArnLike", "arn:aws:sns:us-east-1:123456789012:*", TOPIC, True),
    ("ArnLike", "arn:aws:sns:us-east-1:123456789012:*", "arn:aws:sqs:us-east-1:123456789012:q", False),
    ("ArnNotEquals", TOPIC, TOPIC + "2", True), ("ArnNotEquals", TOPIC, TOPIC, False),
    ("ArnNotLike", "arn:aws:sns:*:*:Other*", TOPIC, True), ("ArnNotLike", "arn:aws:sns:*:*:Ride*", TOPIC, False),
]


@pytest.mark.parametrize(("operator", "policy_value", "request_value", "expected"), OPERATOR_CASES)
def test_every_operator_has_a_passing_and_a_failing_value(operator, policy_value, request_value, expected):
    """Proves each operator compares as the Condition operators page says, in both directions."""
    # Given a condition with one operator on one key
    block = {operator: {"test:Key": policy_value}}
    # When the request carries a value for that key
    result, _ = holds(block, {"test:Key": request_value})
    # Then the condition holds exactly when the documented comparison does
    assert result is expected


POSITIVE = [op for op, *_ in OPERATOR_CASES if "Not" not in op]
NEGATED = sorted({op for op, *_ in OPERATOR_CASES if "Not" in op})


@pytest.mark.parametrize("operator", sorted(set(POSITIVE)))
def test_a_missing_key_fails_a_positive_operator_and_ifexists_passes_it(operator):
    """Proves "the key is not present: the condition is false", and that ...IfExists turns it true."""
    # Given a positive operator on a global key the request lacks (aws:SourceArn: known, simply absent)
    value = next(v for op, v, *_ in OPERATOR_CASES if op == operator)
    # When it is decided without, then with, the IfExists suffix
    plain, warned = holds({operator: {"aws:SourceArn": value}}, {})
    if_exists, _ = holds({operator + "IfExists": {"aws:SourceArn": value}}, {})
    # Then the plain operator is false, IfExists is true, and a known key is no cause for a warning
    assert (plain, if_exists, warned) == (False, True, [])


@pytest.mark.parametrize("operator", NEGATED)
def test_a_missing_key_passes_a_negated_operator(operator):
    """Proves "StringNotLike or ArnNotLike, and the right key is not present, the condition is true"."""
    # Given a negated operator on a key the request lacks
    value = next(v for op, v, *_ in OPERATOR_CASES if op == operator)
    # When it is decided
    result, _ = holds({operator: {"aws:SourceArn": value}}, {"aws:SourceAccount": "123456789012"})
    # Then it holds
    assert result is True


def test_ifexists_still_compares_a_present_key():
    """Proves IfExists only changes the missing case."""
    # Given StringEqualsIfExists on aws:SourceAccount
    block = {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}}
    # When the key is present with another account, then with the right one
    # Then it compares as StringEquals
    assert holds(block, {"aws:SourceAccount": "210987654321"})[0] is False
    assert holds(block, {"aws:SourceAccount": "123456789012"})[0] is True


@pytest.mark.parametrize(("asks", "context", "expected"), [
    ("true", {}, True), ("true", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, False),
    ("false", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, True), ("false", {}, False),
])
def test_null_checks_whether_the_key_is_absent(asks, context, expected):
    """Proves Null "true" means absent and "false" means present."""
    # Given a Null condition on aws:TokenIssueTime
    # When the request has or lacks the key
    result, _ = holds({"Null": {"aws:TokenIssueTime": asks}}, context)
    # Then the condition follows the documented table
    assert result is expected


@pytest.mark.parametrize(("operator", "tag_keys", "expected"), [
    ("ForAllValues:StringEquals", ["env", "team"], True),
    ("ForAllValues:StringEquals", ["env", "cost"], False),
    ("ForAllValues:StringEquals", None, True),  # missing key: ForAllValues is true
    ("ForAllValues:StringEquals", [], True),  # an empty set too
    ("ForAnyValue:StringEquals", ["cost", "team"], True),
    ("ForAnyValue:StringEquals", ["cost"], False),
    ("ForAnyValue:StringEquals", None, False),  # missing key: ForAnyValue is false
    ("ForAllValues:StringNotLike", ["key2:audit"], True),  # the documented key1* example
    ("ForAllValues:StringNotLike", ["key1:legal"], False),
    ("ForAnyValue:StringNotEquals", ["env", "cost"], True),
    ("ForAnyValue:StringNotEquals", ["env", "team"], False),
    ("ForAnyValue:StringEqualsIfExists", None, True),
])
def test_set_qualifiers_over_multivalued_keys(operator, tag_keys, expected):
    """Proves ForAllValues (every request value matches one policy value) and ForAnyValue (at least one)."""
    # Given a set operator on aws:TagKeys, with "key1*" for the NotLike example and env/team otherwise
    values = ["key1*"] if "Like" in operator else ["env", "team"]
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    # When the request carries those tag keys
    result, _ = holds({operator: {"aws:TagKeys": values}}, context)
    # Then the qualifier decides as documented, missing keys included
    assert result is expected


def test_values_are_ored_and_negated_values_nored():
    """Proves several values of one key are OR, and NOR under a negated operator."""
    # Given two accounts under StringEquals and under StringNotEquals
    accounts = ["111111111111", "222222222222"]
    # When the request comes from the second account, then from a third
    # Then StringEquals holds for a listed account only, and StringNotEquals only for an unlisted one
    assert holds({"StringEquals": {"aws:SourceAccount": accounts}}, {"aws:SourceAccount": accounts[1]})[0]
    assert not holds({"StringNotEquals": {"aws:SourceAccount": accounts}}, {"aws:SourceAccount": accounts[1]})[0]
    assert holds({"StringNotEquals": {"aws:SourceAccount": accounts}}, {"aws:SourceAccount": "333333333333"})[0]


def test_several_request_values_without_a_qualifier_match_as_for_any_value():
    """Proves the rule chosen for a multivalued key under a plain operator: any value, negated as a whole."""
    # Given StringEquals and StringNotEquals on aws:TagKeys without a set qualifier
    context = {"aws:TagKeys": ["env", "cost"]}
    # When the request carries one listed and one unlisted tag key
    # Then StringEquals holds (one value matches) and StringNotEquals does not (its negation)
    assert holds({"StringEquals": {"aws:TagKeys": "env"}}, context)[0]
    assert not holds({"StringNotEquals": {"aws:TagKeys": "env"}}, context)[0]


def test_keys_and_operators_are_anded():
    """Proves every key under an operator, and every operator, must hold."""
    # Given a block with two keys under one operator and a second operator
    block = {"StringEquals": {"aws:SourceAccount": "123456789012", "aws:PrincipalType": "AssumedRole"},
             "Bool": {"aws:SecureTransport": "true"}}
    good = {"aws:SourceAccount": "123456789012", "aws:PrincipalType": "AssumedRole", "aws:SecureTransport": True}
    # When all hold, then when any one fails
    # Then only the first request passes
    assert holds(block, good)[0]
    for key, wrong in (("aws:SourceAccount", "1"), ("aws:PrincipalType", "User"), ("aws:SecureTransport", False)):
        assert not holds(block, {**good, key: wrong})[0], key


def test_condition_keys_are_case_insensitive_and_values_are_not():
    """Proves "Condition key names are not case-sensitive" while StringEquals values are."""
    # Given a policy that spells the key AWS:SourceArn, as Lambda's AddPermission writes it
    block = {"ArnLike": {"AWS:SourceArn": TOPIC}}
    # When the request context spells it aws:sourcearn, with the value in another case
    # Then the key is found and the value must still match exactly
    assert holds(block, {"aws:sourcearn": TOPIC})[0]
    assert not holds(block, {"aws:sourcearn": TOPIC.lower()})[0]


def test_arn_operators_match_segment_by_segment():
    """Proves ArnLike checks the six colon-delimited parts apart: a `*` in the region never spans a colon."""
    # Given a pattern with a wildcard region
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:123456789012:q"}}
    # When the request ARN would match only if `*` swallowed a colon
    # Then it does not match, while the well-formed ARN does
    assert not holds(block, {"aws:SourceArn": "arn:aws:sqs:us-east-1:x:123456789012:q"})[0]
    assert holds(block, {"aws:SourceArn": "arn:aws:sqs:eu-west-1:123456789012:q"})[0]


def test_policy_variables_are_substituted_in_2012_policies_only():
    """Proves ${aws:username} (with a default, and unresolvable without one) and version 2008's literal text."""
    # Given StringLike on s3:prefix against the caller's user name
    block = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    # When alice asks for her own prefix, for bob's, or nobody is named
    # Then only her own matches; an unresolvable variable matches nothing; version 2008 compares the text
    assert holds(block, {"aws:username": "alice", "s3:prefix": "home/alice/notes"})[0]
    assert not holds(block, {"aws:username": "alice", "s3:prefix": "home/bob/notes"})[0]
    assert not holds(block, {"s3:prefix": "home//notes"})[0]
    with_default = {"StringEquals": {"s3:prefix": "${aws:username, 'guest'}"}}
    assert holds(with_default, {"s3:prefix": "guest"})[0]
    assert holds({"StringEquals": {"s3:prefix": "${aws:username}"}}, {"s3:prefix": "${aws:username}"},
                 variables=False)[0]


def test_unknown_key_never_allows_and_is_warned_once():
    """Proves an unknown key the request lacks makes an Allow's condition false, whatever the operator."""
    # Given an Allow condition with a typo'd key, twice, under operators that are true on a missing key
    block = {"StringNotEquals": {"aws:SourceAcount": "123456789012"}, "Null": {"aws:SourceAcount": "true"}}
    # When the request lacks it
    result, warned = holds(block, {"aws:SourceAccount": "123456789012"})
    # Then the condition is not met, and the key is reported once
    assert (result, warned) == (False, ["aws:sourceacount"])
    # And in a Deny, where both conditions are consulted, the key is still reported once
    assert holds(block, {}, deny=True) == (True, ["aws:sourceacount"])


@pytest.mark.parametrize(("operator", "expected"), [("StringNotEquals", True), ("StringEquals", False),
                                                      ("StringEqualsIfExists", True)])
def test_unknown_key_in_a_deny_gets_the_documented_missing_key_result(operator, expected):
    """Proves a Deny on an unknown key behaves as AWS does for a missing key, and still warns."""
    # Given a Deny condition on a key nobody knows
    block = {operator: {"custom:Flag": "on"}}
    # When the request lacks it
    result, warned = holds(block, {}, deny=True)
    # Then the missing-key rule decides and the key is reported
    assert (result, warned) == (expected, ["custom:flag"])


def test_unknown_key_present_in_the_context_is_compared_normally():
    """Proves the unknown-key rule only concerns keys the request lacks."""
    # Given a condition on a key outside the known lists
    # When the caller supplies it
    result, warned = holds({"StringEquals": {"custom:Flag": "on"}}, {"custom:Flag": "on"})
    # Then it is compared like any other key, with no warning
    assert (result, warned) == (True, [])


@pytest.mark.parametrize("block", [
    {"StringEqualz": {"aws:SourceArn": TOPIC}}, {"NullIfExists": {"aws:SourceArn": "true"}},
    {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}, {"NumericLessThan": {"s3:max-keys": "ten"}},
    {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}, {"IpAddress": {"aws:SourceIp": "300.0.0.1/8"}},
    {"BinaryEquals": {"test:Key": "not base64!"}}, {"StringEquals": {"aws:SourceArn": {"nested": 1}}},
])
def test_conditions_iam_refuses_are_refused_when_compiled(block):
    """Proves unknown operators, bad qualifiers and unreadable values fail at parse time, not at request time."""
    # Given a condition IAM would not store
    # When it is compiled
    # Then it raises ConditionError (documents.py words it as MalformedPolicy)
    with pytest.raises(ConditionError):
        compile_conditions(block, variables=True, deny=False)


def test_dates_read_iso_8601_and_epoch_seconds():
    """Proves both date forms the Date operators accept land on the same instant."""
    # Given the same instant written three ways
    # When each is read
    # Then they agree
    assert parse_date("2024-01-01T00:00:00Z") == parse_date("1704067200") == parse_date("2024-01-01")
