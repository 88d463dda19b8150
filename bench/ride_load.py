"""A load of rides with poison, and what is checked after it: used by the load benchmark and the fault suites.

`load` sends rides through the API (`wildrydes send`) and publishes a poison message (not a ride) after
every n-th; `queued` is what is still waiting; `exact` is the reconciliation a fault-free outcome gives
(nothing lost or astray, every ride PUBLISHED, every poison message in the DLQ of each service it reaches);
`charge_counts` and `out_of_order` sum the accounting checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ops.filters import deployed_subscriptions
from ops.send import SendOptions, send
from ops.send_report import Outcome, SendReport
from ops.target import Target
from ops.watch import queue_depth


class Poisoner:
    """Publishes a poison message (not a ride) to the topic after every `every`-th request sent."""

    def __init__(self, sns: Any, topic_arn: str, every: int) -> None:
        self.sns, self.topic_arn, self.every = sns, topic_arn, every
        self.sent = self.published = 0
        self.lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        with self.lock:
            self.sent += 1
            due = bool(self.every) and self.sent % self.every == 0
            self.published += due
        if due:  # on a FIFO topic each in a group of its own: a poison message holds back no customer
            fifo = ({"MessageGroupId": f"poison-{outcome.index}", "MessageDeduplicationId": f"poison-{outcome.index}"}
                    if self.topic_arn.endswith(".fifo") else {})
            self.sns.publish(TopicArn=self.topic_arn, Message=f"poison after request {outcome.index}: not a ride",
                             **fifo)


def load(target: Target, *, rides: int, clients: int, poison_every: int, seed: int,
         on_outcome: Callable[[Outcome], None] | None = None, sign: bool = True) -> tuple[SendReport, int]:
    """`rides` through the API (`wildrydes send`), with a poison message after every `poison_every`-th."""
    poisoner = Poisoner(target.client("sns"), target.output("RideCompletionTopicArn"), poison_every)

    def observed(outcome: Outcome) -> None:
        poisoner(outcome)
        if on_outcome:
            on_outcome(outcome)

    report = send(target, SendOptions(rides=rides, concurrency=clients, seed=seed, retries=30, sign=sign),
                  on_outcome=observed)
    return report, poisoner.published


def queued(target: Target) -> int:
    """Messages waiting, in flight or delayed in every service's queue."""
    sqs = target.client("sqs")
    return sum(sum(queue_depth(sqs, service.queue_url)) for service in target.services)


def exact(target: Target, reconciliation: Any, rides: int, poison: int) -> bool:
    """Nothing lost or astray, every ride PUBLISHED, and every poison message in the DLQ of each service it
    reaches: those without a filter policy (it carries no fare or distance, so a filter never lets it pass)."""
    filtered = {name for name, subscription in deployed_subscriptions(target).items() if subscription.policy}
    return reconciliation.ok and reconciliation.rides_status == {"PUBLISHED": rides} and all(
        s.poison == (0 if s.service in filtered else poison) for s in reconciliation.services)


def charge_counts(reconciliation: Any) -> dict[str, int]:
    """Customers whose balance is off, summed over the services that keep accounts (both counts must be 0)."""
    checks = [s.accounts for s in reconciliation.services if s.accounts is not None]
    return {"customers": sum(c.customers for c in checks), "charged_rides": sum(c.charged_rides for c in checks),
            "double_charges": sum(len(c.double_charges) for c in checks),
            "missed_charges": sum(len(c.missed_charges) for c in checks)}


def out_of_order(reconciliation: Any) -> dict[str, int]:
    """Charges applied after a charge of the same customer accepted later (ops/ride_order.py): 0 with FIFO,
    whose topic's sequence numbers say the order it took each customer's rides in."""
    checks = [s.order for s in reconciliation.services if s.order is not None]
    return {"entries": sum(c.entries for c in checks), "out_of_order": sum(c.out_of_order for c in checks)}
