"""Payment and custodial routes of the protocol API (docs/protocol.md §3, §4)."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, JsonResponse

from hub.api.base import ApiError, json_body, protocol_view
from hub.auth import is_operator
from hub.channels import records as channels
from hub.channels.holds import held_while_hub_deposit_arrives
from hub.channels.sync import channel_sync_of
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import custodial_balance as balance
from hub.custodial.services import custodial_withdraw as withdraw
from hub.custodial.services import withdrawal_json
from hub.purchases.models import Payment, Purchase
from hub.purchases.services import InsufficientCollateral, payment_json, purchase_create


@protocol_view(methods=("POST",))
def purchase(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    user = request.address  # type: ignore[attr-defined]
    # A PT_CHANNEL payment whose recipient's channel awaits the hub's deposit on chain is held
    # until it is confirmed (hub/channels/holds.py), not refused for want of collateral.
    result = held_while_hub_deposit_arrives(
        lambda: purchase_create(sender=user, meta=body.get("meta") or {}, payments=body.get("payments")),
        channel_of=lambda refusal: refusal.recipient if isinstance(refusal, InsufficientCollateral) else None)
    # The sync from the purchase's first state: exactly the states it created (the payer's
    # channel was locked while they were written: their payments, then what the hub held for
    # them while they were paying), plus any open proposal.
    rows = [p.payer_update for p in result.payments]
    rows += [p.disbursement for p in result.delivered]
    sync = channel_sync_of(user=user, rows=rows, may_have_proposal=result.payer_has_open_proposal)
    return JsonResponse({"purchaseId": result.purchase.pk, "sync": sync})


@protocol_view(methods=("GET",))
def purchase_detail(request: HttpRequest, purchase_id: str) -> JsonResponse:
    caller = request.address  # type: ignore[attr-defined]
    found = Purchase.objects.filter(pk=purchase_id).first()
    if found is None or (found.sender != caller and not is_operator(caller)):
        raise ApiError(404, "purchase_not_found", "no such purchase")
    rows = list(found.payments.order_by("id"))
    return JsonResponse({
        "purchaseId": found.pk, "sender": found.sender, "meta": found.meta,
        "createdOn": found.created_at.isoformat(),
        "amount": {"amountWei": str(sum(p.amount_wei for p in rows)),
                   "amountToken": str(sum(p.amount_token for p in rows))},
        "payments": [payment_json(p) for p in rows],
    })


@protocol_view(methods=("GET",), owner_param="user")
def payment_history(request: HttpRequest, user: str) -> JsonResponse:
    hub = channels.hub_address()
    rows = (Payment.objects.filter(Q(sender=user) | Q(recipient=user)).exclude(recipient=hub)
            .order_by("-created_at", "-id")[:500])
    return JsonResponse([payment_json(p) for p in rows], safe=False)


@protocol_view(methods=("GET", "POST"), owner_param="user")
def custodial_balance(request: HttpRequest, user: str) -> JsonResponse:
    return JsonResponse(balance(user))


@protocol_view(methods=("POST",))
def custodial_withdraw(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    withdrawal = withdraw(user=request.address, recipient=body.get("recipient"),  # type: ignore[attr-defined]
                          amount_token=body.get("amountToken", "0"),
                          amount_wei=body.get("amountWei", "0"),
                          payout_asset=str(body.get("payoutAsset", "eth")))
    return JsonResponse(withdrawal_json(withdrawal))


@protocol_view(methods=("GET",), owner_param="user")
def custodial_withdrawals(request: HttpRequest, user: str) -> JsonResponse:
    rows = CustodialWithdrawal.objects.filter(user=user).select_related("chain_transaction")[:500]
    return JsonResponse([withdrawal_json(w) for w in rows], safe=False)


@protocol_view(methods=("GET",))
def custodial_withdrawal(request: HttpRequest, withdrawal_id: str) -> JsonResponse:
    caller = request.address  # type: ignore[attr-defined]
    row = CustodialWithdrawal.objects.filter(pk=int(withdrawal_id)).first()
    if row is None or (row.user != caller and not is_operator(caller)):
        raise ApiError(404, "withdrawal_not_found", "no such withdrawal")
    return JsonResponse(withdrawal_json(row))
