"""The chain layer's public write API, in one import: the transaction outbox and the ingester.

    from hub.chain import services as chain
    chain.transaction_enqueue(purpose=..., to=..., data=..., idempotency_key=..., on_complete=...)
    chain.register_event_handler("DidUpdateChannel", handle_did_update_channel)
"""

from __future__ import annotations

from hub.chain.ingest import (
    DispatchResult,
    IngestResult,
    event_handler,
    events_dispatch,
    events_ingest,
    events_poll,
    events_redispatch,
    register_event_handler,
    registered_event_handlers,
    unregister_event_handler,
)
from hub.chain.outbox import (
    TransactionDeferred,
    TransactionSendError,
    transaction_bump,
    transaction_cancel,
    transaction_cancel_unsent,
    transaction_check,
    transaction_enqueue,
    transaction_submit,
    transactions_recheck_confirmed,
    transactions_sweep,
)

__all__ = [
    "DispatchResult",
    "IngestResult",
    "TransactionDeferred",
    "TransactionSendError",
    "event_handler",
    "events_dispatch",
    "events_ingest",
    "events_poll",
    "events_redispatch",
    "register_event_handler",
    "registered_event_handlers",
    "transaction_bump",
    "transaction_cancel",
    "transaction_cancel_unsent",
    "transaction_check",
    "transaction_enqueue",
    "transaction_submit",
    "transactions_recheck_confirmed",
    "transactions_sweep",
    "unregister_event_handler",
]
