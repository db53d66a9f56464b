"""Invoices (checkout requests) and the payments applied to them."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField
from payments.fiat import FiatRecord
from payments.ids import new_invoice_id


class Asset(models.TextChoices):
    WEI = "wei"
    TOKEN = "token"


class Invoice(models.Model):
    class State(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        PARTIALLY_PAID = "partially_paid"
        OVERPAID = "overpaid"
        EXPIRED = "expired"
        PAID_LATE = "paid_late"
        VOID = "void"  # cancelled by the merchant before any payment; accepts none

    public_id = models.CharField(max_length=40, unique=True, default=new_invoice_id)
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="invoices")
    amount = AmountField()
    asset = models.CharField(max_length=8, choices=Asset.choices)
    amount_received = AmountField(default=0)
    pay_to = models.CharField(max_length=42)  # the merchant's receiving address (lower-case)
    description = models.CharField(max_length=500, blank=True, default="")
    order_id = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # where the checkout page sends the shopper back after paying (http/https; empty: no link)
    success_url = models.CharField(max_length=2000, blank=True, default="")
    # Priced in a fiat currency: `amount` was converted from `price` at `rate` (fiat per whole
    # asset unit, from `rate_source` retrieved at `rate_at`), locked for the invoice's lifetime.
    currency = models.CharField(max_length=3, blank=True, default="")
    price = models.DecimalField(max_digits=78, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(max_digits=78, decimal_places=18, null=True, blank=True)
    rate_source = models.CharField(max_length=64, blank=True, default="")
    rate_at = models.DateTimeField(null=True, blank=True)
    customer_email = models.EmailField(max_length=254, blank=True, default="")
    receipt_token = models.CharField(max_length=64, blank=True, default="")  # the receipt page's secret
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    expires_at = models.DateTimeField()
    late_payment_until = models.DateTimeField()  # payments until then still count (paid_late)
    paid_at = models.DateTimeField(null=True, blank=True)  # when the amount was first covered
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="payments_invoice_merchant_idx"),
            models.Index(fields=["expires_at"], name="payments_invoice_open_idx",
                         condition=models.Q(state__in=["open", "partially_paid"])),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.asset} [{self.state}]"

    @property
    def currency_or_none(self) -> str | None:
        return self.currency or None


class InvoicePayment(FiatRecord):
    """One payment applied to an invoice; unique per payment so applying twice is a no-op.

    `source` says what `payment_id` names: a hub payment ("hub") or an on-chain checkout
    payment ("checkout", `hub.CheckoutPayment`)."""

    class Source(models.TextChoices):
        HUB = "hub"
        CHECKOUT = "checkout"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.HUB)
    payment_id = models.BigIntegerField()
    amount = AmountField()
    asset = models.CharField(max_length=8, choices=Asset.choices)
    paid_at = models.DateTimeField()
    late = models.BooleanField(default=False)  # arrived after the invoice expired
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "payment_id"],
                                    name="payments_invoicepayment_source_payment_uniq"),
        ]

    def __str__(self) -> str:
        return f"payment {self.payment_id} → {self.invoice_id}: {self.amount} {self.asset}"
