"""Lambda entry point: SQS batch of rides -> notification effect (see logic.py)."""

from customer_notification.logic import notification
from shared.consumer import SubscriberConsumer

lambda_handler = SubscriberConsumer(effect=notification).lambda_handler
