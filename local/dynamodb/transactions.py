"""DynamoDB transactions that copy the items they touch, not every table: a narrow fix to moto (5.2).

Before a `TransactWriteItems`, moto deep-copies each whole table the transaction touches, to put it back
if the transaction is cancelled: O(table size) per transaction (the accounting ledger grows by one item
per ride, so a load run would be quadratic), and a put-back replaces the table with its copy, erasing
every write other threads made to it meanwhile (each redelivered ride cancels its transaction on the
ledger entry's condition, so at load that would erase other rides' entries). Here transactions run one
at a time, moto's whole-table copies are skipped, and a cancelled transaction puts back exactly the
items it touched, as they were before it.

Installed and removed with the other fixes (local/moto_patches.py, fix 6);
`tests/local/test_moto_patches.py` shows moto still needs it.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_state = threading.local()  # per thread: inside a transaction, whole tables are not copied
_original: dict[str, Any] = {}
_transaction_lock = threading.Lock()


class _TablesUncopied:
    """Stands in for the `copy` module inside moto's DynamoDB models: while this thread runs a transaction,
    a whole table is not copied (`_transact_write_items` backs up the items instead)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, *args: Any) -> Any:
        if isinstance(value, Table) and getattr(_state, "uncopied_tables", 0):
            return value
        return copy.deepcopy(value, *args)


def _touched(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[Table, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each item the transaction names."""
    touched = []
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            try:
                keys = op["Item"] if "Item" in op else op["Key"]
                hash_key, range_key = backend.get_keys_value(table, {name: keys[name] for name in
                                                                     (table.hash_key_attr, table.range_key_attr)
                                                                     if name})
            except Exception:
                continue
            item = table.get_item(hash_key, range_key)
            touched.append((table, hash_key, range_key, copy.deepcopy(item) if item is not None else None))
    return touched


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's transact_write_items, one at a time, backing up (and on cancellation restoring) only its items."""
    with _transaction_lock:
        touched = _touched(self, transact_items)
        try:
            _state.uncopied_tables = getattr(_state, "uncopied_tables", 0) + 1
            try:
                _original["transact_write_items"](self, transact_items)
            finally:
                _state.uncopied_tables -= 1
        except Exception:
            for table, hash_key, range_key, item in reversed(touched):
                bucket = table.items[hash_key] if range_key is not None else table.items
                key = range_key if range_key is not None else hash_key
                if item is None:
                    bucket.pop(key, None)
                else:
                    bucket[key] = item
            raise


def install() -> None:
    if not _original:
        _original["copy"] = dynamodb_models.copy
        dynamodb_models.copy = _TablesUncopied()  # type: ignore[assignment]
        _original["transact_write_items"] = DynamoDBBackend.transact_write_items
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    if _original:
        dynamodb_models.copy = _original.pop("copy")
        DynamoDBBackend.transact_write_items = _original.pop("transact_write_items")  # type: ignore[method-assign]
