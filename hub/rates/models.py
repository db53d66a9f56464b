"""Exchange rates (tokens per ETH) and gas prices, as broadcast to clients every 60 s."""

from __future__ import annotations

from django.db import models


class RateSource(models.Model):
    """The operator's choice of where the hub's ETH→token rate comes from (a singleton row)."""

    class Kind(models.TextChoices):
        OPERATOR = "operator", "Rate set by an operator"
        PRICE_FEED = "price_feed", "On-chain price feed (AggregatorV3 latestRoundData)"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPERATOR)
    operator_rate = models.CharField(
        max_length=40, default="100", help_text="Tokens per ETH as a decimal string, e.g. 2450.5"
    )
    feed_address = models.CharField(max_length=42, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "exchange-rate source"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}"


class ExchangeRate(models.Model):
    base = models.CharField(max_length=8, default="ETH")
    quote = models.CharField(max_length=8, default="DAI")
    rate = models.CharField(max_length=40)  # decimal string: tokens per ETH
    source = models.CharField(max_length=16)
    retrieved_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-retrieved_at", "-id"]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.source})"


class GasPrice(models.Model):
    """From the node's fee history: base fee of the next block plus a priority tip (wei)."""

    block_number = models.BigIntegerField()
    base_fee_wei = models.DecimalField(max_digits=78, decimal_places=0)
    priority_fee_wei = models.DecimalField(max_digits=78, decimal_places=0)
    retrieved_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-retrieved_at", "-id"]

    def __str__(self) -> str:
        return f"gas @{self.block_number}"

    @property
    def fast_wei(self) -> int:
        return int(self.base_fee_wei) * 2 + int(self.priority_fee_wei)
