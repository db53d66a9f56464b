"""Purchases: one or more payments a user makes in one request, all or nothing."""

from __future__ import annotations

from django.db import models
from django.db.models.fields.json import KeyTransform

from hub.chain.fields import AmountField
from hub.purchases.ids import new_payment_id
from ops.rows import fast_insert


@fast_insert
class Purchase(models.Model):
    # From a cryptographic random source (the original used Math.random).
    id = models.CharField(max_length=40, primary_key=True)
    sender = models.CharField(max_length=42)
    meta = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # plain b-tree indexes: nothing searches these columns by prefix (db_index=True on a
        # CharField adds a second, varchar_pattern_ops index that every insert also writes)
        indexes = [models.Index(fields=["sender"], name="purchases_purchase_sender")]

    def __str__(self) -> str:
        return self.id


@fast_insert
class Payment(models.Model):
    class Type(models.TextChoices):
        CHANNEL = "PT_CHANNEL"
        CUSTODIAL = "PT_CUSTODIAL"
        LINK = "PT_LINK"
        OPTIMISTIC = "PT_OPTIMISTIC"
        THREAD = "PT_THREAD"
        CHECKOUT = "PT_CHECKOUT"  # paid on chain through the Checkout contract, kept custodially

    class Status(models.TextChoices):
        COMPLETED = "completed"  # the recipient has it (channel, custodial balance, link hold)
        PENDING = "pending"  # optimistic: held by the hub until collateral exists
        REFUNDED = "refunded"  # optimistic: expired and returned to the payer

    # What merchants, webhooks, CSV files and URLs see; the integer key stays internal (it is
    # sequential across the platform and would reveal its volume).
    public_id = models.CharField(max_length=40, unique=True, default=new_payment_id)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="payments",
                                 db_index=False)
    # indexed in Meta (plain b-trees, no pattern index: see Purchase); the recipient by
    # purchases_pay_recipient_time, which leads with it
    sender = models.CharField(max_length=42)
    recipient = models.CharField(max_length=42)
    amount_wei = AmountField(default=0)
    amount_token = AmountField(default=0)
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    meta = models.JSONField(default=dict)
    # the payer's user→hub state (none for PT_CHECKOUT: the payer paid on chain), and the
    # hub→recipient state that forwarded it (if any)
    payer_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    disbursement = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    refund_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["sender"], name="purchases_pay_sender"),
            models.Index(fields=["purchase"], name="purchases_pay_purchase"),
            models.Index(fields=["status", "type"]),
            # what the hub holds for a recipient (read with every purchase's lock while payments
            # to a paying user are held: DELIVERY_YIELD_MS): a handful of rows, found without
            # walking the recipient's whole history in purchases_pay_recipient_time
            models.Index(fields=["recipient"], name="purchases_pay_pending_to",
                         condition=models.Q(status="pending")),
            # a recipient's payments newest first (the dashboard's list pages through it) and a
            # period's totals (the overview reads it without the table: the sums' columns are in it)
            models.Index(fields=["recipient", "created_at", "id"], name="purchases_pay_recipient_time",
                         include=["status", "amount_wei", "amount_token"]),
            # the dashboard's search by the invoice id the payer named (meta.invoiceId)
            models.Index(KeyTransform("invoiceId", "meta"), name="purchases_pay_invoice_id"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.sender} -> {self.recipient}"


class RefundExecution(models.Model):
    """How a merchant refund (payments.Refund) was paid back: a hub→payer Payment in the payer's
    channel, or a link funded from the merchant's balance when the payer could not receive."""

    class Method(models.TextChoices):
        CHANNEL = "channel"
        LINK = "link"

    refund_public_id = models.CharField(max_length=40, unique=True)
    method = models.CharField(max_length=8, choices=Method.choices)
    channel_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="+")
    link_public_id = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.refund_public_id} by {self.method}"
