"""Lambda entry point: SQS batch of rides -> ledger_entry effect (see logic.py)."""

from customer_accounting.logic import ledger_entry
from shared.consumer import SubscriberConsumer

lambda_handler = SubscriberConsumer(effect=ledger_entry).lambda_handler
