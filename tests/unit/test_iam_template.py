"""The template's own policies under the IAM evaluator: each intended caller allowed, each near miss refused.

The policies come from the synthesized app (the session's template_json fixture), resolved to ARNs by
bench.iam_decisions.template_policies, so a change to the stack's grants shows here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.iam_decisions import TemplatePolicies, template_policies
from local.iam import (
    DecisionKind,
    NamedPolicy,
    PolicyKind,
    PolicySource,
    Principal,
    Request,
    check_role_inline_total,
    evaluate,
)
from stacks.app_factory import project_context
from stacks.config import load_settings

SERVICES = [s.name for s in load_settings(project_context()["wildrydes"]).subscribers]
QUEUE, TOPIC, KEY, ROLE = "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::KMS::Key", "AWS::IAM::Role"
SNS, CLOUDWATCH = Principal.service("sns.amazonaws.com"), Principal.service("cloudwatch.amazonaws.com")
HTTPS, HTTP = {"aws:SecureTransport": True}, {"aws:SecureTransport": False}
PRODUCER_ROLE = "UnicornManagementSubmitRideCompletionServiceRole"


@pytest.fixture(scope="module")
def stack(template_json: dict[str, Any]) -> TemplatePolicies:
    return template_policies(template_json)


def decide(stack: TemplatePolicies, principal: Principal, action: str, target: str,
           context: dict[str, Any] | None = None, *, key_policy: bool = False):
    """The decision for one call, with the caller's inline policies and the target's policy from the template."""
    identity = stack.roles.get(principal.role_arn or "", [])
    return evaluate(Request(principal, action, target, HTTPS if context is None else context),
                    identity_policies=identity, resource_policy=stack.resources.get(target),
                    resource_account=stack.account, key_policy=key_policy)


def test_every_policy_of_the_template_parses_within_its_quota(stack):
    """Proves the template writes no document IAM, SQS, SNS, KMS or Lambda would refuse."""
    # Given the synthesized template's policies, parsed with their sources' quotas (the fixture raises otherwise)
    # When each role's inline policies are added up
    # Then every role stays under IAM's aggregate quota, and every queue, topic, key and function has a policy
    for policies in stack.roles.values():
        check_role_inline_total(p.policy for p in policies)
    kinds = {arn.split(":")[2] for arn in stack.resources}
    assert kinds == {"sqs", "sns", "kms", "lambda"}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("queue", ["Queue", "SubscriptionDeadLetterQueue"])
def test_sns_delivers_to_a_subscriber_queue_only_from_the_ride_topic_and_over_https(stack, service, queue):
    """Proves the queue policy: SNS may send from the ride topic; another topic or plain HTTP is refused."""
    # Given a subscriber queue and the ride topic
    target, topic = stack.arn(service + queue, QUEUE), stack.arn("RideCompletionTopic", TOPIC)
    # When SNS delivers from the ride topic, from another topic, and over plain HTTP
    delivered = decide(stack, SNS, "sqs:SendMessage", target, {**HTTPS, "aws:SourceArn": topic})
    stray = decide(stack, SNS, "sqs:SendMessage", target, {**HTTPS, "aws:SourceArn": topic + "-other"})
    plain = decide(stack, SNS, "sqs:SendMessage", target, {**HTTP, "aws:SourceArn": topic})
    # Then only the first is allowed, by the queue policy's Allow
    assert delivered.allowed and delivered.statement.kind is PolicyKind.RESOURCE
    assert stray.reason == "because no resource-based policy allows the sqs:SendMessage action"
    assert plain.message() == (f"User: sns.amazonaws.com is not authorized to perform: sqs:SendMessage on resource: "
                               f"{target} with an explicit deny in a resource-based policy")


@pytest.mark.parametrize("service", SERVICES)
def test_a_consumer_reads_its_own_queue_and_writes_its_own_table_only(stack, service):
    """Proves the consumer role's inline policy, with the queue policy beside it."""
    # Given the consumer's session, its queue and table, and another service's queue and table
    consumer = stack.session(service + "ConsumerServiceRole", "consumer")
    other = next(s for s in SERVICES if s != service)
    queue, table = stack.arn(service + "Queue", QUEUE), stack.arn(service + "Table", "AWS::DynamoDB::Table")
    # When it works its queue and table, and strays
    # Then its own work is allowed by its identity policy and every near miss is refused with AWS's reason
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert decide(stack, consumer, action, queue).statement.kind is PolicyKind.IDENTITY
    assert decide(stack, consumer, "dynamodb:PutItem", table).allowed
    refused = [decide(stack, consumer, "sqs:ReceiveMessage", stack.arn(other + "Queue", QUEUE)),
               decide(stack, consumer, "sqs:SendMessage", queue),
               decide(stack, consumer, "dynamodb:DeleteItem", table),
               decide(stack, consumer, "dynamodb:PutItem", stack.arn(other + "Table", "AWS::DynamoDB::Table"))]
    assert all(d.kind is DecisionKind.IMPLICIT_DENY and "no identity-based policy" in d.reason for d in refused)
    assert decide(stack, consumer, "sqs:ReceiveMessage", queue, HTTP).kind is DecisionKind.EXPLICIT_DENY


def test_only_the_producer_of_this_account_publishes_to_the_ride_topic_over_https(stack):
    """Proves the ride topic policy: SSL only, owner account only, on top of the producer's grant."""
    # Given the producer's session, a consumer's, and a role of another account allowed sns:Publish on anything
    topic = stack.arn("RideCompletionTopic", TOPIC)
    producer = stack.session(PRODUCER_ROLE, "producer")
    consumer = stack.session(SERVICES[0] + "ConsumerServiceRole", "consumer")
    stranger = Principal.session("arn:aws:iam::210987654321:role/Publisher", "s")
    # When each publishes
    published = decide(stack, producer, "sns:Publish", topic)
    anywhere = NamedPolicy.parse("publisher", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}, PolicyKind.IDENTITY)
    foreign = evaluate(Request(stranger, "sns:Publish", topic, HTTPS), identity_policies=[anywhere],
                       resource_policy=stack.resources[topic], resource_account=stack.account)
    # Then the producer is allowed; over HTTP, from another account or without a grant it is refused
    assert published.allowed
    assert decide(stack, producer, "sns:Publish", topic, HTTP).statement.sid == "AllowPublishThroughSSLOnly"
    assert foreign.kind is DecisionKind.EXPLICIT_DENY and foreign.statement.sid == "OwnerAccountOnly"
    assert decide(stack, consumer, "sns:Publish", topic).reason.startswith("because no identity-based policy")


def test_the_ride_topic_key_delegates_to_iam_policies(stack):
    """Proves the key policy's root statement: the producer's IAM grant works, a role without one does not."""
    # Given the topic key, whose policy allows only the account root (kms:*)
    key = stack.arn("RideTopicKey", KEY)
    producer = stack.session(PRODUCER_ROLE, "producer")
    consumer = stack.session(SERVICES[0] + "ConsumerServiceRole", "consumer")
    # When the producer, a consumer, the root user and another account's root use it
    data_key = decide(stack, producer, "kms:GenerateDataKey", key, key_policy=True)
    decrypt = decide(stack, consumer, "kms:Decrypt", key, key_policy=True)
    root = decide(stack, Principal.root(stack.account), "kms:ScheduleKeyDeletion", key, key_policy=True)
    foreign = decide(stack, Principal.root("210987654321"), "kms:Decrypt", key, key_policy=True)
    # Then the producer (by its identity policy) and root are allowed; the others are refused with AWS's reason
    assert data_key.allowed and data_key.statement.kind is PolicyKind.IDENTITY and root.allowed
    assert decrypt.reason == "because no identity-based policy allows the kms:Decrypt action"
    assert foreign.reason == "because no resource-based policy allows the kms:Decrypt action"


def test_cloudwatch_of_this_account_alone_uses_the_alarm_topic_and_its_key(stack):
    """Proves the alarm topic policy and key policy grant cloudwatch.amazonaws.com for this account only."""
    # Given the ops alarm topic and its key
    topic, key = stack.arn("MonitoringAlarmTopic", TOPIC), stack.arn("MonitoringAlarmTopicKey", KEY)
    ours, theirs = {**HTTPS, "aws:SourceAccount": stack.account}, {**HTTPS, "aws:SourceAccount": "210987654321"}
    # When CloudWatch publishes and decrypts for an alarm of this account, then of another
    # Then this account's alarm is served and the other is refused; so are plain HTTP and ungranted key actions
    assert decide(stack, CLOUDWATCH, "sns:Publish", topic, ours).statement.sid == "AllowCloudWatchAlarms"
    assert decide(stack, CLOUDWATCH, "kms:Decrypt", key, ours, key_policy=True).statement.sid == "AllowCloudwatch"
    assert decide(stack, CLOUDWATCH, "kms:GenerateDataKey", key, ours, key_policy=True).allowed
    assert not decide(stack, CLOUDWATCH, "sns:Publish", topic, theirs).allowed
    assert not decide(stack, CLOUDWATCH, "kms:Decrypt", key, theirs, key_policy=True).allowed
    assert decide(stack, CLOUDWATCH, "sns:Publish", topic, {**ours, **HTTP}).kind is DecisionKind.EXPLICIT_DENY
    assert decide(stack, CLOUDWATCH, "kms:Encrypt", key, ours, key_policy=True).reason == (
        "because no resource-based policy allows the kms:Encrypt action")


def test_api_gateway_invokes_the_producer_only_from_its_own_api(stack):
    """Proves the Lambda permissions: API Gateway may invoke from the stack's API, not from another one."""
    # Given the producer function and the ARN of the API's POST method on its prod stage
    function = stack.arn("UnicornManagementSubmitRideCompletion", "AWS::Lambda::Function")
    api = stack.logical("UnicornManagementApi", "AWS::ApiGateway::RestApi")
    stage = stack.logical("UnicornManagementApiDeploymentStageprod", "AWS::ApiGateway::Stage")
    source = f"arn:aws:execute-api:{stack.region}:{stack.account}:{api}/{stage}/POST/submit-ride-completion"
    gateway = Principal.service("apigateway.amazonaws.com")
    # When API Gateway invokes from that method, then from another API
    # Then only the first is allowed
    assert decide(stack, gateway, "lambda:InvokeFunction", function, {**HTTPS, "aws:SourceArn": source}).allowed
    stray = decide(stack, gateway, "lambda:InvokeFunction", function,
                   {**HTTPS, "aws:SourceArn": source.replace(api, "anotherapi")})
    assert stray.reason == "because no resource-based policy allows the lambda:InvokeFunction action"


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _example(pattern: str) -> str:
    """A concrete name a pattern covers: `kms:*` -> kms:DescribeKey, `...:table/T/index/*` -> .../index/x."""
    if pattern.endswith(":*"):
        return pattern[:-1] + "DescribeKey"
    return pattern.replace("*", "x") if pattern != "*" else "*"


def _caller(statement: dict[str, Any], holder: str, account: str) -> Principal:
    """Who a statement speaks for: the role holding an identity policy, else the statement's Principal."""
    if ":role/" in holder:
        return Principal.session(holder, "granted")
    principal = statement.get("Principal", "*")
    if isinstance(principal, dict) and "Service" in principal:
        return Principal.service(_first(principal["Service"]))
    aws = _first(principal.get("AWS", "*")) if isinstance(principal, dict) else principal
    return Principal.session(aws, "granted") if ":role/" in aws else Principal.root(account)


def _context(statement: dict[str, Any]) -> dict[str, Any]:
    """A request context that meets the statement's conditions (HTTPS, and each key's first value)."""
    context: dict[str, Any] = dict(HTTPS)
    for operator, keys in statement.get("Condition", {}).items():
        for key, value in keys.items():
            value = _first(value)
            context[key] = value.replace("*", "x") if isinstance(value, str) else value
            if operator.lower().startswith("bool"):
                context[key] = str(value).lower() == "true"
    return context


def _allows(stack: TemplatePolicies) -> list[tuple[str, int, dict[str, Any]]]:
    return [(holder, index, statement) for holder, document in stack.documents
            for index, statement in enumerate(document["Statement"]) if statement["Effect"] == "Allow"]


def _policies(stack: TemplatePolicies, removed: tuple[str, int] | None) -> list[tuple[str, NamedPolicy]]:
    """Every policy of the template by its holder, with statement `removed` (holder, index) gone."""
    parsed = []
    for name, document in stack.documents:
        statements = [s for i, s in enumerate(document["Statement"]) if (name, i) != removed]
        if not statements:  # its only statement removed: no policy at all
            continue
        source = (PolicySource.ROLE_INLINE if ":role/" in name else PolicySource.KMS_KEY if ":kms:" in name
                  else PolicySource.SNS_TOPIC if ":sns:" in name else PolicySource.LAMBDA_FUNCTION if ":lambda:" in name
                  else PolicySource.SQS_QUEUE)
        parsed.append((name, NamedPolicy.parse(name, {**document, "Statement": statements}, source)))
    return parsed


def test_every_allow_statement_of_the_template_is_needed_and_its_removal_refused_as_aws_words_it(stack):
    """Proves, for each Allow the template writes (roles, queues, topics, keys, the Lambda permission): the call
    it grants is allowed, and with that one statement removed the same call is refused with AWS's sentence.
    A statement another one makes redundant fails here. (Deny statements: the TLS-only and owner tests.)"""
    allows = _allows(stack)
    assert len(allows) > 20
    checked = 0
    every_action = [(h, i, s, _example(a)) for h, i, s in allows
                    for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    for holder, index, statement, action in every_action:
        caller = _caller(statement, holder, stack.account)
        target = _example(_first(statement.get("Resource", holder)))
        if ":role/" not in holder and not target.startswith(holder):  # a resource policy speaks of its holder
            target = holder
        request = Request(caller, action, target, _context(statement))
        outcome = {}
        for label, removed in (("with", None), ("without", (holder, index))):
            parsed = _policies(stack, removed)
            identity = [p for name, p in parsed if caller.role_arn and name == caller.role_arn]
            resource = next((p for name, p in parsed if name == target), None)
            outcome[label] = evaluate(request, identity_policies=identity, resource_policy=resource,
                                      resource_account=stack.account, key_policy=":kms:" in target)
        checked += 1
        where = f"{holder} statement {index} ({statement.get('Sid', '')}): {action} on {target}"
        assert outcome["with"].allowed, where
        assert not outcome["without"].allowed, f"{where} is also granted elsewhere"
        assert outcome["without"].message().startswith(f"User: {caller.arn} is not authorized to perform: {action} "
                                                         f"on resource: {target} because no "), where
    assert checked >= 45  # every action of every Allow (45 in this template)
