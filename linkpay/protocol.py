"""Link routes of the protocol API (mounted in config/hub_urls.py): the Connext client's
`POST payments/redeem/:user`, plus a sender's own links and their cancellation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from hub.api.base import error_response, json_body, parse_int_param, protocol_view
from hub.channels.sync import channel_sync
from linkpay import services
from linkpay.errors import LinkRateLimited
from linkpay.models import Link
from linkpay.selectors import links_for_sender
from linkpay.serializers import link_data


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: a forwarded-for header is the client's to forge (a proxy in front
    # must set REMOTE_ADDR, e.g. daphne --proxy-headers)
    return request.META.get("REMOTE_ADDR") or None


def rate_limited(exc: LinkRateLimited) -> JsonResponse:
    response = error_response(429, exc.code, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _amount(link: Link) -> dict[str, str]:
    return {"amountWei": str(link.amount_wei), "amountToken": str(link.amount_token)}


def _last_chan_tx(body: dict[str, Any]) -> int:
    value = body.get("lastChanTx")
    return parse_int_param(None if value is None else str(value), "lastChanTx")


@protocol_view(methods=("POST",), owner_param="user")
def redeem(request: HttpRequest, user: str) -> JsonResponse:
    """`{secret, lastChanTx, lastThreadUpdateId}` → `{purchaseId, amount, sync, status, linkId}`.
    status "pending": accepted; paid into the channel when the hub's collateral arrives (the
    collateral proposal, if one was made, is the last item of `sync`)."""
    body = json_body(request)
    last = _last_chan_tx(body)
    try:
        result = services.link_redeem(secret=body.get("secret"), redeemer=user, ip=client_ip(request))
    except LinkRateLimited as exc:
        return rate_limited(exc)
    link = result.link
    purchase_id = link.payment.purchase_id if link.payment is not None else link.public_id
    sync = channel_sync(user=user, last_chan_tx=last)
    return JsonResponse({
        "purchaseId": purchase_id, "linkId": link.public_id, "amount": _amount(link),
        "status": "pending" if result.pending else "completed", "sync": sync,
    })


@protocol_view(methods=("GET",), owner_param="user")
def link_list(request: HttpRequest, user: str) -> JsonResponse:
    """The links `user` created (never their secrets), newest first."""
    return JsonResponse([link_data(link) for link in links_for_sender(user)[:500]], safe=False)


@protocol_view(methods=("POST",))
def link_cancel(request: HttpRequest, link_id: str) -> JsonResponse:
    """The sender takes an unredeemed link back: `{lastChanTx}` → `{link, sync}`."""
    body = json_body(request)
    user = request.address  # type: ignore[attr-defined]
    link = services.link_cancel(link_public_id=link_id, sender=user)
    sync = channel_sync(user=user, last_chan_tx=_last_chan_tx(body))
    return JsonResponse({"link": link_data(link), "sync": sync})
