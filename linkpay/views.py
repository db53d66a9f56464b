"""The public redemption page `/l/<link id>`. The secret travels in the URL fragment, which
browsers never send to a server, so it never reaches access logs; the page's script reads it from
`location.hash` and POSTs it in a JSON body to the claim endpoint."""

from __future__ import annotations

from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from hub.api.base import error_response
from hub.channels.errors import ChannelError
from hub.core import UpdateRejected
from linkpay import conf, services
from linkpay.errors import LinkRateLimited
from linkpay.models import Link
from linkpay.protocol import client_ip, rate_limited
from linkpay.selectors import link_public
from ops import clock, jsonbody
from ops.amounts import exact_amount, format_amount
from ops.qr import qr_svg

STATUS_TEXT = {
    Link.Status.OPEN: _("Ready to claim"),
    Link.Status.REDEEMING: _("Claimed: the payment is on its way"),
    Link.Status.REDEEMED: _("Redeemed"),
    Link.Status.CANCELLED: _("Cancelled by the sender"),
    Link.Status.EXPIRED: _("Expired: returned to the sender"),
}
# What link.js says, in the page's language (the browser's: the page posts no forms, so it has
# no language chooser); %(name)s are filled in by the script.
PAGE_TEXTS = {
    "beingSent": _("being sent…"), "done": _("Done: the payment was sent."),
    "failed": _("The payment did not go through; you can claim again."),
    "zeroAddress": _("the zero address (0x000…000) belongs to nobody"),
    "deadAddress": _("0x…dEaD is a burn address that belongs to nobody"),
    "notAnAddress": _("That is not an Ethereum address: it starts with 0x and has 40 more letters and digits (0-9, a-f)."),
    "burn": _("%(reason)s: anything sent there is lost for good. Enter the address of your own wallet."),
    "sending": _("Sending…"), "refused": _("The claim was refused."),
    "claimed": _("Claimed: the payment is on its way to %(address)s."),
    "networkError": _("Network error; try again."), "copied": _("Link copied."),
    "copyByHand": _("Copy the address bar to hand it over."), "qrAlt": _("QR code of this link"),
}
# The link page holds a bearer secret (in the URL fragment): nothing but our own script, style,
# fetches and the QR image (a data: URL); no form posts anywhere.
LINK_PAGE_CSP = {
    "default-src": [NONE], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF, "data:"],
    "connect-src": [SELF], "form-action": [NONE], "frame-ancestors": [NONE], "base-uri": [NONE],
}


def _status(link: Link) -> dict[str, Any]:
    status = link.status
    if status == Link.Status.OPEN and link.expires_at <= clock.now():
        status = Link.Status.EXPIRED
    claimed = status in (Link.Status.REDEEMING, Link.Status.REDEEMED) and link.payout == Link.Payout.ONCHAIN
    tx = link.chain_transaction if claimed and link.chain_transaction_id else None
    return {
        "id": link.public_id, "status": status, "statusText": str(STATUS_TEXT[Link.Status(status)]),
        "amount": str(link.amount), "asset": link.asset,
        "display": format_amount(int(link.amount), link.asset),
        "exact": exact_amount(int(link.amount), link.asset),
        "note": link.note, "expiresAt": link.expires_at.isoformat(),
        "sender": _sender_name(link),
        # after an on-chain claim: where it went and the transaction (once the hub has sent it)
        "destination": link.redeemer if claimed else "",
        "txHash": (tx.tx_hash if tx is not None else "") or "",
    }


def _sender_name(link: Link) -> str:
    """The merchant's name, or the sending wallet's short address for a link bought in a channel."""
    if link.merchant_id is not None:
        return str(link.merchant.name)  # type: ignore[union-attr]
    return f"{link.sender[:6]}…{link.sender[-4:]}" if link.sender else str(_("Someone"))


def _found(public_id: str) -> Link:
    link = link_public(public_id)
    if link is None:
        raise Http404("no such link")
    return link


@never_cache
@require_GET
@csp(LINK_PAGE_CSP)  # type: ignore[arg-type]  # django-csp types views as (request) -> response only
def page(request: HttpRequest, public_id: str) -> HttpResponse:
    link = _found(public_id)
    data = _status(link)
    response = render(request, "linkpay/link.html", {
        "link": data, "wallet_url_template": conf.LINK_WALLET_URL_TEMPLATE,
        "card_url": reverse("card:page"),
        "expires_at": link.expires_at, "expires_in": timeuntil(link.expires_at, clock.now()),
        "expired": data["status"] == Link.Status.EXPIRED,
        "texts": {key: str(text) for key, text in PAGE_TEXTS.items()},
    })
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def status(request: HttpRequest, public_id: str) -> JsonResponse:
    return JsonResponse(_status(_found(public_id)))


class _BadBody(Exception):
    def __init__(self, response: JsonResponse) -> None:
        self.response = response


def _body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object body; a body that is not one is refused (400/413 in the hub's shape)."""
    try:
        data = jsonbody.request_json(request, empty={})
    except jsonbody.JsonBodyError as exc:
        raise _BadBody(error_response(exc.status, exc.code, exc.message)) from None
    if not isinstance(data, dict):
        raise _BadBody(error_response(400, "malformed_json", "the request body must be a JSON object"))
    return data


@csrf_exempt  # no cookies are involved: the secret in the body is the authority
@never_cache
@require_POST
def claim(request: HttpRequest, public_id: str) -> JsonResponse:
    """`{secret, address}`: pay the link to `address` on-chain."""
    try:
        body = _body(request)
        link = services.link_claim_onchain(link_public_id=public_id, secret=body.get("secret"),
                                           to=body.get("address"), ip=client_ip(request))
    except _BadBody as exc:
        return exc.response
    except LinkRateLimited as exc:
        return rate_limited(exc)
    except ChannelError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except UpdateRejected as exc:
        return error_response(400, exc.code, exc.message)
    return JsonResponse(_status(link))


@csrf_exempt
@never_cache
@require_POST
def qr(request: HttpRequest, public_id: str) -> HttpResponse:
    """An SVG QR code of this link's full URL (for handing it to a phone wallet). The secret
    comes in the body and is only encoded into the image."""
    _found(public_id)
    try:
        secret = _body(request).get("secret")
    except _BadBody as exc:
        return exc.response
    if not isinstance(secret, str) or not 1 <= len(secret) <= 256:
        return error_response(400, "bad_args", "secret is required")
    url = request.build_absolute_uri(request.path.removesuffix("/qr")) + "#" + secret
    return HttpResponse(qr_svg(url), content_type="image/svg+xml")
