"""The short notice a dashboard shows for a live event: what happened, for how much, and a link
to the object. Built on the server (one amount formatter for the whole UI) and sent beside the
event, over the WebSocket and in the polling fallback."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from payments.dashboard.money import Money
from payments.units import ASSETS

LABELS = {
    "payment.succeeded": _("New payment"), "invoice.created": _("Invoice created"),
    "invoice.paid": _("Invoice paid"), "invoice.overpaid": _("Invoice overpaid"),
    "invoice.partially_paid": _("Invoice partially paid"), "invoice.expired": _("Invoice expired"),
    "invoice.paid_late": _("Invoice paid late"), "invoice.void": _("Invoice voided"),
    "settlement.created": _("Settlement requested"), "settlement.paid": _("Settlement paid"),
    "settlement.failed": _("Settlement failed"), "refund.created": _("Refund started"),
    "refund.succeeded": _("Refund sent"), "refund.failed": _("Refund failed"),
    "link.created": _("Link created"), "link.redeemed": _("Link redeemed"),
    "link.cancelled": _("Link cancelled"), "link.expired": _("Link expired"),
}
OBJECT_ID = re.compile(r"[a-z]{2,4}_[0-9A-Za-z]{8,40}")
AMOUNT = re.compile(r"[0-9]{1,78}")


def _amount(obj: dict[str, Any], kind: str) -> Money | None:
    if kind == "payment":
        token, wei = str(obj.get("amount_token", "0")), str(obj.get("amount_wei", "0"))
        if AMOUNT.fullmatch(token) and int(token) > 0:
            return Money(int(token), "token")
        return Money(int(wei), "wei") if AMOUNT.fullmatch(wei) else None
    amount, asset = str(obj.get("amount", "")), obj.get("asset")
    if asset in ASSETS and AMOUNT.fullmatch(amount):
        return Money(int(amount), str(asset))
    return None


def _url(obj: dict[str, Any], kind: str) -> str:
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not OBJECT_ID.fullmatch(object_id):
        return ""
    if kind == "payment":
        return reverse("payments:dashboard:payment", args=[object_id])
    if kind == "invoice":
        return reverse("payments:dashboard:invoice", args=[object_id])
    if kind == "settlement":
        return reverse("payments:dashboard:settlement", args=[object_id])
    if kind == "refund":
        payment = obj.get("payment")
        if isinstance(payment, str) and OBJECT_ID.fullmatch(payment):
            return reverse("payments:dashboard:payment", args=[payment])
        return reverse("payments:dashboard:refunds")
    if kind == "link":
        return reverse("payments:dashboard:links")
    return ""


def toast_for(event_type: str, data: dict[str, Any]) -> dict[str, str]:
    """{"text": "New payment: 0.05 ETH ($10.00)", "url": "/dashboard/payments/pay_…/"}."""
    kind = event_type.split(".", 1)[0]
    obj = data.get("object", data) if isinstance(data, dict) else {}
    obj = obj if isinstance(obj, dict) else {}
    text = str(LABELS.get(event_type, event_type))
    money = _amount(obj, kind)
    if money is not None:
        text = f"{text}: {money.label}"
    return {"text": text, "url": _url(obj, kind)}
