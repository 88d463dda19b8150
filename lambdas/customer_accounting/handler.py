"""Lambda entry point: SQS batch of rides -> ledger entry + account charge, in one transaction (see logic.py)."""

from customer_accounting.logic import accounts_table_name, ledger_entry
from shared.consumer import ConsumerSettings, SubscriberConsumer
from shared.effects import DynamoLedgerStore

settings = ConsumerSettings.from_environment()
lambda_handler = SubscriberConsumer(
    effect=ledger_entry, settings=settings,
    store=DynamoLedgerStore(settings.table_name, accounts_table_name())).lambda_handler
