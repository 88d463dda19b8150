"""The four game days, as data and small functions: what each breaks, which alarms must say so, how it is
put back. The runner (ops/drill.py) does the rest, the same way for each.

Every change goes through the public APIs an operator has (Lambda, SQS, SNS), on the names the stack
outputs give; every rollback is safe to run after a partial injection (it puts back only what it saved,
and re-enabling or restoring twice is harmless).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops import dlq as dlq_ops
from ops.drill_model import AlarmSpec, Drill, DrillAborted, resolve
from ops.errors import OpsError
from ops.mappings import set_enabled
from ops.send import SendOptions, send
from ops.senders import ApiSender
from ops.services import queue_name
from ops.traffic import ride_mix
from ops.watch import stack_alarms

QUEUE_DEPTH = ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
OLDEST_AGE = ("AWS/SQS", "ApproximateAgeOfOldestMessage")
POISON_MESSAGES = 3
RIDES = 10  # valid rides a drill sends besides what its injection needs


@dataclass(frozen=True)
class Scenario:
    name: str
    changes: str  # what it breaks, in one line (help, README)
    aws_minutes: str  # roughly how long it takes against AWS
    expected: Callable[[Drill], list[AlarmSpec]]
    inject: Callable[[Drill], str]
    rollback: Callable[[Drill], str]
    tolerated: Callable[[Drill], list[AlarmSpec]] = field(default=lambda d: [])  # may fire as a consequence
    lead_seconds: Callable[[Drill], float] = field(default=lambda d: 0.0)  # cloud seconds before it can alarm
    tick: Callable[[Drill], None] = field(default=lambda d: None)  # while the alarms are awaited
    recover: Callable[[Drill], None] = field(default=lambda d: None)  # after the rollback (the client's side)
    needs_service: bool = True


def _service(drill: Drill) -> Any:
    assert drill.service is not None
    return drill.service


def _alarm(drill: Drill, spec: AlarmSpec) -> dict[str, Any]:
    target = drill.target
    return resolve(stack_alarms(target.client("cloudwatch"), target.stack_name, target.outputs.get("AlarmTopicArn")),
                   spec)


def send_rides(drill: Drill, count: int) -> str:
    """`count` rides through the API (signed, retried with an Idempotency-Key); every one must be accepted.
    All are extraordinary, so that they reach every service whatever its filter."""
    options = SendOptions(rides=count, concurrency=8, extraordinary_share=1.0, seed=int(drill.run_id[:6], 16))
    report = send(drill.target, options)
    accepted = report.accepted()
    drill.rides += accepted
    if len(accepted) < count:
        raise DrillAborted(f"only {len(accepted)} of {count} rides were accepted: {report.summary()['statuses']}")
    return f"{count} rides sent"


# -- subscriber-outage --------------------------------------------------------------------------------------
def _outage_alarms(drill: Drill) -> list[AlarmSpec]:
    name = queue_name(_service(drill).queue_url)
    return [AlarmSpec(*QUEUE_DEPTH, name), AlarmSpec(*OLDEST_AGE, name)]


def _outage_inject(drill: Drill) -> str:
    service = _service(drill)
    set_enabled(drill.target, [service], False)
    depth = _alarm(drill, _outage_alarms(drill)[0])
    threshold = int(depth["Threshold"])
    return (f"{service.name}'s event source mapping disabled; "
            + send_rides(drill, threshold + max(RIDES, threshold // 5)) + f" (depth alarm over {threshold})")


def _outage_rollback(drill: Drill) -> str:
    set_enabled(drill.target, [_service(drill)], True)
    return f"{_service(drill).name}'s event source mapping enabled: its queue drains"


# -- poison -------------------------------------------------------------------------------------------------
def _poison_body(drill: Drill, n: int) -> str:
    return json.dumps({"wildrydesDrill": drill.run_id, "poison": n, "note": "not a ride: fails every receive"})


def _is_ours(drill: Drill, body: str) -> bool:
    try:
        return json.loads(body).get("wildrydesDrill") == drill.run_id
    except (ValueError, AttributeError):
        return False


def _poison_lead(drill: Drill) -> float:
    """maxReceiveCount receives, a visibility timeout apart, before SQS moves a message to the DLQ."""
    attributes = drill.target.client("sqs").get_queue_attributes(
        QueueUrl=_service(drill).queue_url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])["Attributes"]
    receives = int(json.loads(attributes.get("RedrivePolicy") or "{}").get("maxReceiveCount", 5))
    return receives * int(attributes.get("VisibilityTimeout", 30))


def _poison_inject(drill: Drill) -> str:
    service, sqs = _service(drill), drill.target.client("sqs")
    for n in range(POISON_MESSAGES):
        sqs.send_message(QueueUrl=service.queue_url, MessageBody=_poison_body(drill, n))
    drill.state["poison"] = POISON_MESSAGES
    return f"{POISON_MESSAGES} poison messages on {service.name}'s queue; " + send_rides(drill, RIDES)


def _poison_rollback(drill: Drill) -> str:
    """Delete exactly this drill's poison messages from the DLQ (waiting for the last to arrive); leave
    anything else there, visible again at once, and say so."""
    service, sqs = _service(drill), drill.target.client("sqs")
    wanted = drill.state.get("poison", 0)
    wait = drill.real(60 if drill.aborting else _poison_lead(drill) + 240)
    deadline, removed, others = time.monotonic() + wait, 0, set()
    while removed < wanted and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=service.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       WaitTimeSeconds=0 if drill.target.kind == "local" else 1).get("Messages", [])
        ours = [m for m in messages if _is_ours(drill, m["Body"])]
        theirs = [m for m in messages if not _is_ours(drill, m["Body"])]
        if ours:
            sqs.delete_message_batch(QueueUrl=service.dlq_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(ours)])
            removed += len(ours)
        if theirs:
            others |= {m["MessageId"] for m in theirs}
            sqs.change_message_visibility_batch(QueueUrl=service.dlq_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(theirs)])
        if not ours:
            time.sleep(min(1.0, drill.real(10) / 10))
    drill.details.update(poison_removed=removed, other_dead_letters_left=len(others))
    text = f"removed {removed} of {wanted} poison messages from {service.name}'s DLQ"
    if others:
        text += f"; left {len(others)} other messages there (not this drill's: `wildrydes dlq list`)"
    if removed < wanted:
        text += f"; {wanted - removed} not there yet: they will reach the DLQ, remove them by hand"
    return text


# -- delivery-denied ----------------------------------------------------------------------------------------
def _allows_sns(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal") or {}
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    services = services if isinstance(services, list) else [services]
    return statement.get("Effect") == "Allow" and "sns.amazonaws.com" in services


def _denied_alarms(drill: Drill) -> list[AlarmSpec]:
    topic = drill.target.output("RideCompletionTopicArn").rsplit(":", 1)[-1]
    return [AlarmSpec("AWS/SNS", "NumberOfNotificationsFailed", topic),
            AlarmSpec(*QUEUE_DEPTH, queue_name(_service(drill).subscription_dlq_url or ""))]


def _denied_inject(drill: Drill) -> str:
    service, sqs = _service(drill), drill.target.client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=service.queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    document = json.loads(policy)
    kept = [s for s in document["Statement"] if not _allows_sns(s)]
    if len(kept) == len(document["Statement"]):
        raise OpsError(f"{service.name}'s queue policy has no statement allowing sns.amazonaws.com")
    drill.state["policy"] = policy
    sqs.set_queue_attributes(QueueUrl=service.queue_url, Attributes={"Policy": json.dumps(
        {**document, "Statement": kept})})
    if drill.target.kind == "aws":
        time.sleep(60)  # a queue policy change takes up to a minute to apply everywhere
    return f"the SNS allow statement taken out of {service.name}'s queue policy; " + send_rides(drill, RIDES)


def _denied_rollback(drill: Drill) -> str:
    service, sqs = _service(drill), drill.target.client("sqs")
    if "policy" not in drill.state:
        return "nothing to restore"
    sqs.set_queue_attributes(QueueUrl=service.queue_url, Attributes={"Policy": drill.state["policy"]})
    redriven = dlq_ops.redrive_subscription_dlq(sqs, service)
    drill.details["redriven"] = redriven.moved
    if redriven.status not in ("COMPLETED", "EMPTY"):
        raise OpsError(f"redrive of {service.name}'s subscription DLQ: {redriven.status} {redriven.detail or ''}")
    return f"queue policy restored; {redriven.moved} messages redriven from the subscription DLQ"


# -- producer-failure ---------------------------------------------------------------------------------------
def _producer(drill: Drill) -> str:
    return drill.target.output("ProducerFunctionName")


def _producer_alarms(drill: Drill) -> list[AlarmSpec]:
    return [AlarmSpec("AWS/Lambda", "Throttles", _producer(drill)), AlarmSpec("AWS/ApiGateway", "5XXError")]


def _retry_pending(drill: Drill) -> None:
    """What a client does: each request that was not answered 201 is sent again, same Idempotency-Key."""
    sender, pending, statuses = drill.state["sender"], drill.state["pending"], drill.state["statuses"]
    for item in list(pending):
        outcome = sender.send(item)
        statuses[str(outcome.status)] += 1
        if outcome.status == 201 and outcome.ride_id:
            pending.remove(item)
            drill.rides.append({"id": outcome.ride_id, "fare": outcome.fare, "distance": outcome.distance})
    drill.state["last_retry"] = time.monotonic()
    drill.details["statuses"] = dict(statuses)


def _producer_tick(drill: Drill) -> None:
    """Retry every 20 cloud seconds (within 0.3-10 real ones): the throttles and 5xx go on every minute."""
    every = min(10.0, max(0.3, 20 * drill.scale))
    if drill.state.get("pending") and time.monotonic() - drill.state.get("last_retry", 0) >= every:
        _retry_pending(drill)


def _producer_inject(drill: Drill) -> str:
    lambda_client, name = drill.target.client("lambda"), _producer(drill)
    previous = lambda_client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    drill.state["previous"] = previous
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    time.sleep(1.5 if drill.target.kind == "local" else 10)  # the front door reads it each second; Lambda soon
    drill.state.update(sender=ApiSender(drill.target.api_url, concurrency=4, retries=0, timeout=30,
                                        run_id=f"drill-{drill.run_id}", auth=drill.target.api_auth()),
                       pending=list(ride_mix(RIDES, seed=int(drill.run_id[:6], 16), extraordinary_share=1.0)),
                       statuses=Counter())
    _retry_pending(drill)
    return (f"{name}'s reserved concurrency 0 (was {'unset' if previous is None else previous}); "
            f"{RIDES} rides sent: {drill.details['statuses']}")


def _producer_rollback(drill: Drill) -> str:
    if "previous" not in drill.state:
        return "nothing to restore"
    lambda_client, name, previous = drill.target.client("lambda"), _producer(drill), drill.state["previous"]
    if previous is None:
        lambda_client.delete_function_concurrency(FunctionName=name)
        return f"{name}'s reserved concurrency removed (as it was)"
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=previous)
    return f"{name}'s reserved concurrency back to {previous}"


def _producer_recover(drill: Drill) -> None:
    """The client retries until every ride is stored, as `wildrydes send` does."""
    deadline = time.monotonic() + drill.real(120)
    try:
        while drill.state.get("pending") and time.monotonic() < deadline:
            time.sleep(1.0)
            _retry_pending(drill)
    finally:
        drill.state["sender"].close()
    if drill.state["pending"]:
        raise DrillAborted(f"{len(drill.state['pending'])} rides still refused after the rollback")


SCENARIOS = {s.name: s for s in (
    Scenario("subscriber-outage", "disables one subscriber's event source mapping (Lambda API) and sends rides until "
             "its queue is deeper than the depth alarm's threshold", "~15", _outage_alarms, _outage_inject,
             _outage_rollback),
    Scenario("poison", "puts 3 messages that are not rides on one service queue; after maxReceiveCount they reach "
             "its DLQ; the rollback deletes exactly those", "~20", lambda d: [AlarmSpec(*QUEUE_DEPTH, queue_name(
                 _service(d).dlq_url or ""))], _poison_inject, _poison_rollback,
             # a batch of poison only fails as a whole (Errors); poison cycles longer than the age threshold
             tolerated=lambda d: [AlarmSpec("AWS/Lambda", "Errors", _service(d).function_name),
                                  AlarmSpec(*OLDEST_AGE, queue_name(_service(d).queue_url))],
             lead_seconds=_poison_lead),
    Scenario("delivery-denied", "takes the SNS allow statement out of one queue's policy: deliveries go to its "
             "subscription DLQ; the rollback restores the policy and redrives", "~10", _denied_alarms,
             _denied_inject, _denied_rollback),
    Scenario("producer-failure", "sets the producer's reserved concurrency to 0: the API answers 500; the client "
             "retries with its Idempotency-Key until the rollback", "~10", _producer_alarms, _producer_inject,
             _producer_rollback, tick=_producer_tick, recover=_producer_recover, needs_service=False),
)}
