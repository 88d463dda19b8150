"""What ordering "fifo" changes in `wildrydes plan`: throughput bounded by customers, and FIFO's quotas.

- A FIFO queue hands out one batch per message group at a time, and a group here is a customer: however
  high `maxConcurrency`, at most as many invocations run at once as customers have rides waiting. With
  `--groups N` the throughput is computed with min(maximum concurrency, N) invocations.
- An SNS FIFO topic takes 3,000 messages/s (topic-scoped throughput, the default); beyond it Publish is
  throttled (the producer answers 503 and the client retries).
- An SQS FIFO queue without high-throughput mode takes 300 calls/s per API action (3,000 messages/s in
  batches of 10); each subscriber queue receives one SendMessage per ride from SNS.
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html,
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html)
"""

from __future__ import annotations

SNS_FIFO_MESSAGES_PER_SECOND = 3000
SQS_FIFO_CALLS_PER_SECOND = 300


def concurrency_with_groups(max_concurrency: int, groups: int | None) -> int:
    """Invocations that can run at once on a FIFO queue: one per message group with messages waiting."""
    return max_concurrency if groups is None else max(1, min(max_concurrency, groups))


def warnings(*, rate: float | None, topic_rate: float | None, max_concurrency: int, groups: int | None) -> list[str]:
    found = []
    if groups is None:
        found.append(f"FIFO: throughput assumes at least {max_concurrency} customers with rides waiting (one batch "
                     "per customer at a time); pass --groups")
    elif groups < max_concurrency:
        found.append(f"FIFO: {groups} customers keep at most {groups} of its {max_concurrency} invocations busy")
    if topic_rate is not None and topic_rate > SNS_FIFO_MESSAGES_PER_SECOND:
        found.append(f"FIFO: {topic_rate:g} rides/s is over the SNS FIFO topic's {SNS_FIFO_MESSAGES_PER_SECOND:,} "
                     "messages/s: publishes are throttled")
    if rate is not None and rate > SQS_FIFO_CALLS_PER_SECOND:
        found.append(f"FIFO: {rate:g} messages/s is over the FIFO queue's {SQS_FIFO_CALLS_PER_SECOND} SendMessage "
                     "calls/s without high-throughput mode")
    return found
