"""The decision on one request (local/iam/evaluator.py), on the cases AWS's policy evaluation pages work through."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam import DecisionKind, NamedPolicy, PolicyKind, Principal, Request, evaluate, once

ACCOUNT, OTHER = "111122223333", "444455556666"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/Auditor"
SESSION = Principal.session(ROLE, "audit-app")
ROOT, STRANGER = Principal.root(ACCOUNT), Principal.session(f"arn:aws:iam::{OTHER}:role/Auditor", "audit-app")
SECURE = {"aws:SecureTransport": True}


def identity(*statements: dict[str, Any], name: str = "inline") -> NamedPolicy:
    return NamedPolicy.parse(name, {"Version": "2012-10-17", "Statement": list(statements)}, PolicyKind.IDENTITY)


def resource(*statements: dict[str, Any], name: str = QUEUE) -> NamedPolicy:
    return NamedPolicy.parse(name, {"Version": "2012-10-17", "Statement": list(statements)}, PolicyKind.RESOURCE)


def allow(action: str = "sqs:SendMessage", target: str = QUEUE, **fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": target, **fields}


def deny(action: str = "sqs:SendMessage", target: str = QUEUE, **fields: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": target, **fields}


def decide(principal: Principal, action: str = "sqs:SendMessage", target: str = QUEUE, *,
           ids: tuple[NamedPolicy, ...] = (), res: NamedPolicy | None = None, account: str = ACCOUNT,
           key_policy: bool = False, context: dict[str, Any] | None = None, **kwargs: Any):
    request = Request(principal, action, target, SECURE if context is None else context)
    return evaluate(request, identity_policies=list(ids), resource_policy=res, resource_account=account,
                    key_policy=key_policy, **kwargs)


def test_same_account_either_an_identity_or_a_resource_allow_suffices():
    """Proves the Carlos example: within one account an Allow on either side is enough."""
    # Given a user whose policy allows s3:PutObject, and a bucket policy that allows another action
    carlos = Principal.user(f"arn:aws:iam::{ACCOUNT}:user/carlossalazar")
    user_policy = identity(allow("s3:PutObject", BUCKET))
    bucket_policy = resource(allow("s3:GetObject", BUCKET, Principal={"AWS": carlos.arn}), name=BUCKET)
    # When Carlos puts an object (only the user policy allows), then gets one (only the bucket policy allows)
    put = decide(carlos, "s3:PutObject", BUCKET, ids=(user_policy,), res=bucket_policy)
    get = decide(carlos, "s3:GetObject", BUCKET, ids=(user_policy,), res=bucket_policy)
    # Then both are allowed, each by its own side
    assert (put.allowed, put.statement.kind, get.allowed, get.statement.kind) == (
        True, PolicyKind.IDENTITY, True, PolicyKind.RESOURCE)


def test_an_explicit_deny_anywhere_wins():
    """Proves "an explicit deny in any of the policies overrides the allow", in either kind of policy."""
    # Given a role allowed on both sides, then with a Deny on one side
    ids, res = identity(allow()), resource(allow(Principal={"AWS": ROLE}))
    denying_ids = identity(allow(), deny())
    denying_res = resource(allow(Principal={"AWS": ROLE}), deny(Principal="*"))
    # When the session sends
    by_identity = decide(SESSION, ids=(denying_ids,), res=res)
    by_resource = decide(SESSION, ids=(ids,), res=denying_res)
    # Then each is an explicit deny, worded for the policy that denied
    assert by_identity.kind is by_resource.kind is DecisionKind.EXPLICIT_DENY
    assert by_identity.reason == "with an explicit deny in an identity-based policy"
    assert by_resource.message() == (f"User: {SESSION.arn} is not authorized to perform: sqs:SendMessage on "
                                     f"resource: {QUEUE} with an explicit deny in a resource-based policy")
    assert by_identity.allowed_by == ()


def test_the_four_access_denied_sentences():
    """Proves message() words AWS's AccessDenied sentences exactly."""
    # Given a session with no grant, and policies that deny on each side
    prefix = f"User: {SESSION.arn} is not authorized to perform: sqs:SendMessage on resource: {QUEUE} "
    # When it is refused for each reason
    implicit = decide(SESSION)
    identity_deny = decide(SESSION, ids=(identity(deny()),))
    resource_deny = decide(SESSION, res=resource(deny(Principal="*")))
    key_policy = resource(allow("kms:Encrypt", "*", Principal={"AWS": ROLE}), name=KEY)
    no_key_grant = decide(SESSION, "kms:Decrypt", KEY, ids=(identity(allow("kms:Decrypt", KEY)),), res=key_policy,
                          key_policy=True)
    # Then each sentence is AWS's
    assert implicit.message() == prefix + "because no identity-based policy allows the sqs:SendMessage action"
    assert identity_deny.message() == prefix + "with an explicit deny in an identity-based policy"
    assert resource_deny.message() == prefix + "with an explicit deny in a resource-based policy"
    assert no_key_grant.message().endswith("because no resource-based policy allows the kms:Decrypt action")
    with pytest.raises(ValueError):
        decide(SESSION, ids=(identity(allow()),)).message()


def test_a_resource_policy_naming_the_account_delegates_to_identity_policies():
    """Proves an account principal allows the root user, and other principals only with an identity Allow."""
    # Given a queue policy that names the account, both ways it can be written
    for principal in ({"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}):
        res = resource(allow(Principal=principal))
        # When the root user, a session without a grant, and a session with one send
        root, bare = decide(ROOT, res=res), decide(SESSION, res=res)
        granted = decide(SESSION, ids=(identity(allow()),), res=res)
        # Then root and the granted session are allowed, the bare session is refused for lack of an identity Allow
        assert (root.allowed, bare.allowed, granted.allowed) == (True, False, True)
        assert bare.reason == "because no identity-based policy allows the sqs:SendMessage action"


def test_a_role_arn_covers_its_sessions_and_a_session_arn_only_itself():
    """Proves resource policy principals: a role ARN grants every session, a session ARN that session alone."""
    # Given one policy naming the role and one naming a single session
    by_role = resource(allow(Principal={"AWS": ROLE}))
    by_session = resource(allow(Principal={"AWS": SESSION.arn}))
    other_session = Principal.session(ROLE, "another-app")
    # When two sessions of the role send
    # Then the role grant serves both, the session grant only the named one
    assert decide(SESSION, res=by_role).allowed and decide(other_session, res=by_role).allowed
    assert decide(SESSION, res=by_session).allowed and not decide(other_session, res=by_session).allowed


def test_not_principal_with_deny_spares_only_callers_listed_at_every_layer():
    """Proves the NotPrincipal Deny example: session, role and account must all be listed to spare a session."""
    # Given the documented Deny with NotPrincipal listing the session, its role and its account, plus an Allow
    listed = {"AWS": [SESSION.arn, ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}
    policy = resource(deny("sqs:*", NotPrincipal=listed), allow(Principal="*"))
    # When the listed session, another session of the role and a stranger send
    spared = decide(SESSION, res=policy)
    sibling = decide(Principal.session(ROLE, "other"), res=policy)
    stranger = decide(STRANGER, ids=(identity(allow()),), res=policy)
    # Then only the listed session is spared
    assert spared.allowed and not sibling.allowed and not stranger.allowed
    assert sibling.kind is DecisionKind.EXPLICIT_DENY
    # And listing the session alone, without its role and account, does not spare it
    session_only = resource(deny("sqs:*", NotPrincipal={"AWS": SESSION.arn}), allow(Principal="*"))
    assert decide(SESSION, res=session_only).kind is DecisionKind.EXPLICIT_DENY


def test_not_principal_with_allow_allows_everyone_else_even_anonymous():
    """Proves the warning of the NotPrincipal page: with Allow it grants all principals but the listed ones."""
    # Given an Allow to everyone but the auditor role
    policy = resource(allow(NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}))
    # When an anonymous caller and the auditor send
    # Then the anonymous caller is allowed and the auditor, listed at every layer, is not
    assert decide(Principal.anonymous(), res=policy).allowed
    assert not decide(SESSION, res=policy).allowed


def test_kms_direct_grant_needs_no_identity_policy():
    """Proves a key policy statement naming the role allows on its own."""
    # Given a key policy that grants the role kms:Decrypt, and no identity policy
    key = resource(allow("kms:Decrypt", "*", Principal={"AWS": ROLE}), name=KEY)
    # When the session decrypts
    decision = decide(SESSION, "kms:Decrypt", KEY, res=key, key_policy=True)
    # Then the key policy statement decided
    assert decision.allowed and decision.statement.kind is PolicyKind.RESOURCE


def test_kms_root_delegation_enables_iam_policies_and_needs_them():
    """Proves "Allows access to the AWS account and enables IAM policies": root allowed, others need IAM."""
    # Given the default key policy (the account root, kms:*)
    key = resource(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), name=KEY)
    # When root, a session with an IAM grant and a session without one decrypt
    root = decide(ROOT, "kms:Decrypt", KEY, res=key, key_policy=True)
    granted = decide(SESSION, "kms:Decrypt", KEY, ids=(identity(allow("kms:Decrypt", KEY)),), res=key,
                     key_policy=True)
    bare = decide(SESSION, "kms:Decrypt", KEY, res=key, key_policy=True)
    # Then root and the granted session are allowed, the other lacks an identity Allow
    assert root.allowed and granted.allowed and granted.statement.kind is PolicyKind.IDENTITY
    assert bare.reason == "because no identity-based policy allows the kms:Decrypt action"


def test_kms_without_root_in_the_key_policy_the_key_is_unusable_even_to_root():
    """Proves IAM policies have no effect on a key whose policy does not allow the account, root included."""
    # Given a key policy that only allows another role, and an identity policy allowing everything
    key = resource(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}), name=KEY)
    admin = identity(allow("kms:*", "*"))
    # When the root user and an administrator session decrypt, and when no key policy is known at all
    root = decide(ROOT, "kms:Decrypt", KEY, res=key, key_policy=True)
    session = decide(SESSION, "kms:Decrypt", KEY, ids=(admin,), res=key, key_policy=True)
    keyless = decide(ROOT, "kms:Decrypt", KEY, key_policy=True)
    # Then each is refused because no resource-based policy allows
    for decision in (root, session, keyless):
        assert decision.reason == "because no resource-based policy allows the kms:Decrypt action"


def test_cross_account_needs_both_sides():
    """Proves the cross-account rule: the identity policy and the resource policy must both allow."""
    # Given a queue in ACCOUNT and a session of a role in OTHER
    trusts_account = resource(allow(Principal={"AWS": OTHER}))
    names_role = resource(allow(Principal={"AWS": f"arn:aws:iam::{OTHER}:role/Auditor"}))
    granted = identity(allow())
    # When the stranger sends with each combination
    both = decide(STRANGER, ids=(granted,), res=trusts_account)
    no_resource = decide(STRANGER, ids=(granted,))
    no_identity = decide(STRANGER, res=names_role)
    foreign_root = decide(Principal.root(OTHER), res=trusts_account)
    # Then only both sides together allow (the foreign root has its identity Allow implicitly)
    assert both.allowed and foreign_root.allowed and not no_resource.allowed and not no_identity.allowed
    assert no_resource.reason == "because no resource-based policy allows the sqs:SendMessage action"
    assert no_identity.reason == "because no identity-based policy allows the sqs:SendMessage action"


def test_cross_account_kms_needs_the_key_policy_and_an_iam_policy():
    """Proves a key shared with another account still needs that account's IAM policy to allow."""
    # Given a key policy that names the other account
    key = resource(allow("kms:Decrypt", "*", Principal={"AWS": f"arn:aws:iam::{OTHER}:root"}), name=KEY)
    # When a session of the other account decrypts with and without an IAM grant
    granted = decide(STRANGER, "kms:Decrypt", KEY, ids=(identity(allow("kms:Decrypt", KEY)),), res=key,
                     key_policy=True)
    bare = decide(STRANGER, "kms:Decrypt", KEY, res=key, key_policy=True)
    # Then only the granted one is allowed
    assert granted.allowed and bare.reason == "because no identity-based policy allows the kms:Decrypt action"


def test_service_principals_and_anonymous_callers_rest_on_the_resource_policy_alone():
    """Proves identity policies are not consulted for callers that have none."""
    # Given identity policies that would allow everything, and a queue policy for sns.amazonaws.com
    everything, nothing = identity(allow("*", "*")), identity(deny("*", "*"))
    res = resource(allow(Principal={"Service": "sns.amazonaws.com"}))
    # When SNS, CloudWatch and an anonymous caller send, with identity policies passed in error
    # Then only SNS is allowed, even beside a Deny it has no business with, and the others lack a resource Allow
    assert decide(Principal.service("sns.amazonaws.com"), ids=(nothing,), res=res).allowed
    for caller in (Principal.service("cloudwatch.amazonaws.com"), Principal.anonymous()):
        refused = decide(caller, ids=(everything,), res=res)
        assert refused.reason == "because no resource-based policy allows the sqs:SendMessage action"


def test_the_root_user_is_allowed_in_its_account_unless_a_resource_policy_denies():
    """Proves the root user's full access, and that an explicit deny still binds it."""
    # Given no policy at all, then a queue policy denying everyone over plain HTTP
    res = resource(deny("sqs:*", Principal={"AWS": "*"}, Condition={"Bool": {"aws:SecureTransport": "false"}}))
    # When root sends over HTTPS, then over HTTP
    # Then the first is allowed and the second is an explicit deny
    assert decide(ROOT).allowed and decide(ROOT, res=res).allowed
    assert decide(ROOT, res=res, context={"aws:SecureTransport": False}).kind is DecisionKind.EXPLICIT_DENY


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("sqs:*", "sqs:SendMessage", True), ("SQS:send*", "sqs:SendMessage", True), ("*", "kms:Decrypt", True),
    ("sqs:Send?essage", "sqs:SendMessage", True), ("sqs:Receive*", "sqs:SendMessage", False),
    ("sns:*", "sqs:SendMessage", False),
])
def test_action_wildcards_ignore_case(pattern, action, expected):
    """Proves Action matching: service prefix and name case-insensitive, with * and ? wildcards."""
    # Given an identity policy allowing the pattern
    # When the session calls the action
    # Then it is allowed exactly when the pattern covers it
    assert decide(SESSION, action, ids=(identity(allow(pattern)),)).allowed is expected


def test_not_action_and_not_resource_in_a_deny():
    """Proves NotAction/NotResource: deny everything except reading, everywhere except one queue."""
    # Given an Allow on sqs:* and a Deny on every action but ReceiveMessage, on every queue but QUEUE
    policy = identity(allow("sqs:*", "*"), {"Effect": "Deny", "NotAction": "sqs:ReceiveMessage",
                                            "NotResource": QUEUE})
    # When the session receives and sends on another queue, and sends on QUEUE
    # Then receiving anywhere and sending on QUEUE are allowed, sending elsewhere is denied
    assert decide(SESSION, "sqs:ReceiveMessage", QUEUE + "-2", ids=(policy,)).allowed
    assert decide(SESSION, "sqs:SendMessage", QUEUE, ids=(policy,)).allowed
    assert decide(SESSION, "sqs:SendMessage", QUEUE + "-2", ids=(policy,)).kind is DecisionKind.EXPLICIT_DENY


def test_global_keys_come_from_the_principal_and_cannot_be_forged():
    """Proves aws:PrincipalArn of a session is its role ARN, and the caller's context cannot override it."""
    # Given a queue policy allowing any principal whose aws:PrincipalArn is the role, of type AssumedRole
    res = resource(allow(Principal="*", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE},
                                                   "StringEquals": {"aws:PrincipalType": "AssumedRole",
                                                                    "aws:PrincipalAccount": ACCOUNT}}))
    # When the session sends, and when the stranger claims the role's ARN in its context
    forged = {**SECURE, "aws:PrincipalArn": ROLE, "aws:PrincipalAccount": ACCOUNT}
    # Then the session is allowed and the stranger is not
    assert decide(SESSION, res=res).allowed
    assert not decide(STRANGER, ids=(identity(allow()),), res=res, context=forged).allowed


def test_kms_caller_account_and_current_time_are_filled_in():
    """Proves kms:CallerAccount for KMS actions and aws:CurrentTime when a policy reads it."""
    # Given a key policy for any principal of the account until 2999, and no such keys in the request
    key = resource(allow("kms:Decrypt", "*", Principal="*", Condition={
        "StringEquals": {"kms:CallerAccount": ACCOUNT}, "DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}),
        name=KEY)
    # When a session of the account and the stranger decrypt
    # Then the account's session is allowed and the stranger is not
    assert decide(SESSION, "kms:Decrypt", KEY, res=key, key_policy=True).allowed
    assert not decide(STRANGER, "kms:Decrypt", KEY, ids=(identity(allow("kms:*", "*")),), res=key,
                      key_policy=True).allowed


def test_unknown_keys_are_reported_once():
    """Proves on_unknown_key hears each unknown key once per decision, and once() dedupes across decisions."""
    # Given two statements conditioned on the same misspelt key
    typo = {"StringEquals": {"aws:SourceAcount": ACCOUNT}}
    policy = identity(allow(Condition=typo), allow(Condition=typo))
    heard: list[str] = []
    report = once(heard.append)
    # When the session sends twice
    first = decide(SESSION, ids=(policy,), on_unknown_key=report)
    decide(SESSION, ids=(policy,), on_unknown_key=report)
    # Then the Allow never applies, the decision lists the key once, and the callback heard it once in all
    assert not first.allowed and first.warnings == ("aws:sourceacount",) and heard == ["aws:sourceacount"]


def test_every_allowing_statement_is_listed():
    """Proves allowed_by records every Allow that matched, on both sides, for a "what was used" record."""
    # Given an identity Allow, a second identity Allow by wildcard and a resource Allow
    ids = identity(allow(), allow("sqs:*"), name="consumer")
    res = resource({**allow(Principal={"AWS": ROLE}), "Sid": "Role"})
    # When the session sends
    decision = decide(SESSION, ids=(ids,), res=res)
    # Then all three are listed, named by policy and Sid or index
    assert [str(ref) for ref in decision.allowed_by] == ["consumer#0", "consumer#1", f"{QUEUE}#Role"]


def test_policy_variables_in_resource_name_the_callers_own_objects():
    """Proves ${aws:username} in Resource resolves per caller in 2012-10-17 policies and is text in 2008 ones."""
    # Given one home-folder statement, in a 2012-10-17 policy and in a 2008-10-17 one
    home = allow("s3:GetObject", "arn:aws:s3:::home-bucket/home/${aws:username}/*")
    current = identity(home)
    legacy = NamedPolicy.parse("legacy", {"Version": "2008-10-17", "Statement": [home]}, PolicyKind.IDENTITY)
    alice = Principal.user(f"arn:aws:iam::{ACCOUNT}:user/staff/alice")
    # When alice reads her own object and bob's
    # Then the 2012 policy allows hers only; the 2008 policy matches neither (the variable is literal text)
    assert decide(alice, "s3:GetObject", "arn:aws:s3:::home-bucket/home/alice/cv.pdf", ids=(current,)).allowed
    assert not decide(alice, "s3:GetObject", "arn:aws:s3:::home-bucket/home/bob/cv.pdf", ids=(current,)).allowed
    assert not decide(alice, "s3:GetObject", "arn:aws:s3:::home-bucket/home/alice/cv.pdf", ids=(legacy,)).allowed
