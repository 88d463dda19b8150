"""Lambda entry point: SQS batch of rides -> extraordinary_ride effect (see logic.py)."""

from extraordinary_rides.logic import extraordinary_ride
from shared.consumer import SubscriberConsumer

lambda_handler = SubscriberConsumer(effect=extraordinary_ride).lambda_handler
