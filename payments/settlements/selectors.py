from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from hub.chain.models import ChainTransactionAttempt
from payments.settlements.models import Settlement


def settlements_for_merchant(merchant_id: int, *, status: str | None = None) -> QuerySet[Settlement]:
    rows = (
        Settlement.objects.filter(merchant_id=merchant_id)
        .select_related("chain_transaction")
        .prefetch_related(Prefetch("chain_transaction__attempts",
                                   queryset=ChainTransactionAttempt.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(state=status)
    return rows.order_by("-id")
