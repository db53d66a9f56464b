"""The double-entry ledger of the hub's obligations.

Every state the hub signs posts balanced entries in the same database transaction: one entry per
changed state field (account `channel:<id>:<field>`), balanced per asset by the channel's
`channel:<id>:chain` account (value entering or leaving the channel on-chain). Custodial balances
and link holds post to their own accounts. Entries are append-only: a trigger refuses UPDATE and
DELETE (see the migration); corrections are new entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models


class SignedAmountField(models.DecimalField):
    """NUMERIC(78,0) that may be negative (a ledger delta); Python always sees int."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 78)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value)

    def to_python(self, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        number = Decimal(value)
        if number != number.to_integral_value():
            raise ValueError("ledger amounts are whole base units")
        return int(number)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return None if value is None else Decimal(int(value))


class LedgerEntry(models.Model):
    class Asset(models.TextChoices):
        WEI = "wei"
        TOKEN = "token"

    # Not indexed: nothing looks a posting up, and a random UUID's index entry lands on a random
    # page of a growing index on every insert (several per payment).
    posting = models.UUIDField()
    account = models.CharField(max_length=120)
    asset = models.CharField(max_length=8, choices=Asset.choices)
    amount = SignedAmountField()
    memo = models.CharField(max_length=200, blank=True, default="")
    channel_update = models.ForeignKey(
        "hub.ChannelUpdate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "asset"]),
            # an account's or a prefix's entries (account__startswith: a channel's, the
            # liabilities'); a pattern index answers equality too, so one index does both
            models.Index(fields=["account"], name="hub_ledger_account_prefix",
                         opclasses=["varchar_pattern_ops"]),
        ]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d} {self.asset}"
