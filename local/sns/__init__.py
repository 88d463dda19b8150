"""SNS, beyond what moto does: delivering to SQS subscriptions as SNS does, through each queue's policy,
with failed deliveries going to the subscription's dead-letter queue (`delivery.py`).

AWS documents these in the SNS developer guide: "Fanout Amazon SNS notifications to Amazon SQS queues",
"Amazon SNS dead-letter queues" and "Amazon SNS message delivery retries".
"""
