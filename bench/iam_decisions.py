"""Decisions/s of the IAM evaluator (local/iam) on the policies the template itself writes.

    python -m bench.iam_decisions [--template cdk.out/WildRydesRideCompletion.template.json] [--decisions 100000]

Reads the synthesized template (`make synth`), resolves its intrinsic functions to the ARNs of one account
(template_policies, which the tests share), parses every queue, topic, key and Lambda policy and every role's
inline policy once, then times `decisions` calls of local.iam.evaluate for each of four requests the local cloud
will see on every delivery: SNS sending to a subscriber queue, a consumer's session receiving from its queue,
the producer publishing to the ride topic, and the producer asking the topic key for a data key. Prints
decisions/s per request (over all rounds, and in the best of five rounds, which other work on the machine
disturbs least) and writes bench/results/iam_decisions.json.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.record import write_result
from cloud_assembly import Resolver
from local.iam import Decision, NamedPolicy, PolicySource, Principal, Request, evaluate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "iam_decisions.json"
TEMPLATE = ROOT / "cdk.out" / "WildRydesRideCompletion.template.json"
ACCOUNT, REGION = "123456789012", "us-east-1"
ROUNDS = 5  # the decisions are timed in rounds: the best round shows the evaluator, the total its load
ARNS = {"AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
        "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
        "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{name}",
        "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
        "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
        "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}"}

POLICY_HOLDERS = frozenset({"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::KMS::Key", "AWS::IAM::Policy",
                            "AWS::Lambda::Permission"})


@dataclass
class TemplatePolicies:
    """The template's policies, parsed, by the ARN of what holds them; ARNs use the logical ids as names."""

    template: dict[str, Any]
    account: str = ACCOUNT
    region: str = REGION
    resources: dict[str, NamedPolicy] = field(default_factory=dict)  # queue, topic, key, function ARN -> policy
    roles: dict[str, list[NamedPolicy]] = field(default_factory=dict)  # role ARN -> its inline policies
    documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (holder ARN, resolved document)

    def logical(self, prefix: str, kind: str) -> str:
        """The logical id of that type that is prefix and CDK's 8-digit hash (e.g. CustomerNotificationQueue)."""
        [found] = [name for name, r in self.template["Resources"].items()
                   if r["Type"] == kind and re.fullmatch(re.escape(prefix) + "[0-9A-F]{8}", name)]
        return found

    def arn(self, prefix: str, kind: str) -> str:
        return self.arn_of(self.logical(prefix, kind))

    def arn_of(self, logical: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        return ARNS[kind].format(region=self.region, account=self.account, name=logical)

    def session(self, role_prefix: str, name: str = "session") -> Principal:
        return Principal.session(self.arn(role_prefix, "AWS::IAM::Role"), name)


def template_policies(template: dict[str, Any], account: str = ACCOUNT, region: str = REGION) -> TemplatePolicies:
    """Resolve the template's policies to ARNs and parse each once, as the local cloud would after deploying.

    Every Ref and Fn::GetAtt Arn of a queue, topic, key, table, role or function resolves to its ARN here (a
    queue's Ref is its URL in AWS, a role's its name: only the ARN matters to the policies).
    """
    found = TemplatePolicies(template, account, region)
    resources = template["Resources"]
    arns = {name: found.arn_of(name) for name, r in resources.items() if r["Type"] in ARNS}
    physical = {name: arns.get(name, name) for name in resources}
    resolver = Resolver(template, physical, region=region, account=account, stack_name="WildRydes",
                        attributes={(name, "Arn"): arn for name, arn in arns.items()})
    permissions: dict[str, list[dict[str, Any]]] = {}
    for name, resource in resources.items():
        kind = resource["Type"]
        if kind not in POLICY_HOLDERS:
            continue
        props = resolver.resolve(resource["Properties"])
        if kind == "AWS::SQS::QueuePolicy":
            for queue in props["Queues"]:
                found.resources[queue] = NamedPolicy.parse(queue, props["PolicyDocument"], PolicySource.SQS_QUEUE)
                found.documents.append((queue, props["PolicyDocument"]))
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in props["Topics"]:
                found.resources[topic] = NamedPolicy.parse(topic, props["PolicyDocument"], PolicySource.SNS_TOPIC)
                found.documents.append((topic, props["PolicyDocument"]))
        elif kind == "AWS::KMS::Key":
            found.resources[arns[name]] = NamedPolicy.parse(arns[name], props["KeyPolicy"], PolicySource.KMS_KEY)
            found.documents.append((arns[name], props["KeyPolicy"]))
        elif kind == "AWS::IAM::Policy":
            for role in props["Roles"]:
                policy = NamedPolicy.parse(props["PolicyName"], props["PolicyDocument"], PolicySource.ROLE_INLINE)
                found.roles.setdefault(role, []).append(policy)
                found.documents.append((role, props["PolicyDocument"]))
        elif kind == "AWS::Lambda::Permission":
            permissions.setdefault(props["FunctionName"], []).append(lambda_statement(name, props))
    for function, statements in permissions.items():
        document = {"Version": "2012-10-17", "Statement": statements}
        found.resources[function] = NamedPolicy.parse(function, document, PolicySource.LAMBDA_FUNCTION)
        found.documents.append((function, document))
    return found


def lambda_statement(sid: str, permission: dict[str, Any]) -> dict[str, Any]:
    """The statement Lambda's AddPermission writes into the function policy for an AWS::Lambda::Permission."""
    principal = permission["Principal"]
    condition: dict[str, Any] = {}
    if "SourceArn" in permission:
        condition["ArnLike"] = {"AWS:SourceArn": permission["SourceArn"]}
    if "SourceAccount" in permission:
        condition["StringEquals"] = {"AWS:SourceAccount": permission["SourceAccount"]}
    return {"Sid": sid, "Effect": "Allow", "Action": permission["Action"], "Resource": permission["FunctionName"],
            "Principal": {"Service": principal} if "." in principal else {"AWS": principal},
            **({"Condition": condition} if condition else {})}


def scenarios(policies: TemplatePolicies) -> dict[str, Callable[[], Decision]]:
    """The four requests to time, each a call of evaluate with the template's policies."""
    topic = policies.arn("RideCompletionTopic", "AWS::SNS::Topic")
    queue = policies.arn("CustomerNotificationQueue", "AWS::SQS::Queue")
    key = policies.arn("RideTopicKey", "AWS::KMS::Key")
    producer = policies.session("UnicornManagementSubmitRideCompletionServiceRole", "producer")
    consumer = policies.session("CustomerNotificationConsumerServiceRole", "consumer")
    secure = {"aws:SecureTransport": True}
    deliver = Request(Principal.service("sns.amazonaws.com"), "sqs:SendMessage", queue,
                      {**secure, "aws:SourceArn": topic, "aws:SourceAccount": policies.account})
    receive = Request(consumer, "sqs:ReceiveMessage", queue, secure)
    publish = Request(producer, "sns:Publish", topic, secure)
    via_sns = {**secure, "kms:ViaService": f"sns.{policies.region}.amazonaws.com"}
    data_key = Request(producer, "kms:GenerateDataKey", key, via_sns)
    res, roles, account = policies.resources, policies.roles, policies.account

    def run(request: Request, resource: str, key_policy: bool = False) -> Callable[[], Decision]:
        identity = roles.get(request.principal.role_arn or "", [])
        return lambda: evaluate(request, identity_policies=identity, resource_policy=res[resource],
                                resource_account=account, key_policy=key_policy)
    return {"sns delivers to a subscriber queue": run(deliver, queue),
            "consumer session receives from its queue": run(receive, queue),
            "producer publishes to the ride topic": run(publish, topic),
            "producer asks the topic key for a data key": run(data_key, key, key_policy=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--decisions", type=int, default=100_000)
    args = parser.parse_args()
    if not args.template.exists():
        raise SystemExit(f"{args.template} is missing: run `make synth` first")
    started = time.perf_counter()
    policies = template_policies(json.loads(args.template.read_text()))
    parse_seconds = time.perf_counter() - started
    figures: dict[str, Any] = {"decisions": args.decisions, "parse_all_policies_ms": round(parse_seconds * 1000, 2),
                               "requests": {}}
    print(f"parsed {len(policies.resources)} resource and {sum(map(len, policies.roles.values()))} inline "
          f"policies in {parse_seconds * 1000:.1f} ms")
    rounds = [args.decisions // ROUNDS] * ROUNDS
    for name, decide in scenarios(policies).items():
        assert decide().allowed, name
        seconds = []
        for count in rounds:
            started = time.perf_counter()
            for _ in range(count):
                decide()
            seconds.append(time.perf_counter() - started)
        rate, best = sum(rounds) / sum(seconds), rounds[0] / min(seconds)
        figures["requests"][name] = {"decisions_per_second": round(rate), "best_round_per_second": round(best),
                                     "microseconds_each": round(1e6 / rate, 2)}
        print(f"{name:45} {rate:>10,.0f} decisions/s (best round {best:,.0f})  {1e6 / rate:6.2f} us each")
    write_result(RESULTS, "IAM decisions/s on the template's policies (local/iam)",
                 f"python -m bench.iam_decisions --decisions {args.decisions}", figures)


if __name__ == "__main__":
    main()
