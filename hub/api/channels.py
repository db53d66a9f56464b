"""Channel routes of the protocol API (docs/protocol.md §4)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.api.base import ApiError, json_body, parse_int_param, protocol_view
from hub.channels import selectors
from hub.channels.errors import ChannelError
from hub.channels.holds import held_while_hub_deposit_arrives
from hub.channels.proposals import (
    channel_request_deposit,
    channel_request_withdrawal,
)
from hub.channels.sync import channel_sync as sync_feed
from hub.channels.updates import channel_apply_client_update
from hub.collateral.services import collateral_request, exchange_request
from hub.core import UpdateRejected


def _sync_params(body: dict[str, object] | None = None,
                 request: HttpRequest | None = None) -> tuple[int, int | None]:
    """(lastChanTx, lastThreadUpdateId) from a POST body or a GET query; 400 when malformed.
    Write routes call it before they write: a request refused for a bad parameter must change
    nothing."""
    last = 0
    last_thread: int | None = None
    if body is not None:
        last = parse_int_param(str(body.get("lastChanTx") or 0), "lastChanTx")
        if body.get("lastThreadUpdateId") is not None:
            last_thread = parse_int_param(str(body["lastThreadUpdateId"]), "lastThreadUpdateId")
    elif request is not None:
        last = parse_int_param(request.GET.get("lastChanTx"), "lastChanTx")
        last_thread = parse_int_param(request.GET.get("lastThreadUpdateId"), "lastThreadUpdateId")
    return last, last_thread


def _sync(user: str, params: tuple[int, int | None]) -> dict[str, object]:
    last, last_thread = params
    return sync_feed(user=user, last_chan_tx=last, last_thread_update_id=last_thread)


@protocol_view(methods=("GET",), owner_param="user", others_allowed=True)
def channel_detail(request: HttpRequest, user: str) -> JsonResponse:
    """The owner sees the channel; another authenticated user sees it redacted (the hub's
    balances only, what a payer's client reads to tell whether the recipient needs collateral)."""
    data = selectors.channel_summary(user, redacted=not request.is_owner)  # type: ignore[attr-defined]
    if data is None:
        raise ApiError(404, "channel_not_found", f"no channel for {user}")
    return JsonResponse(data)


@protocol_view(methods=("GET",), owner_param="user")
def channel_sync(request: HttpRequest, user: str) -> JsonResponse:
    return JsonResponse(_sync(user, _sync_params(request=request)))


@protocol_view(methods=("GET",), owner_param="user")
def latest_update(request: HttpRequest, user: str) -> JsonResponse:
    data = selectors.latest_double_signed(user, no_pending=False)
    if data is None:
        raise ApiError(404, "update_not_found", "no double-signed state yet")
    return JsonResponse(data)


@protocol_view(methods=("GET",), owner_param="user")
def latest_no_pending(request: HttpRequest, user: str) -> JsonResponse:
    data = selectors.latest_double_signed(user, no_pending=True)
    if data is None:
        raise ApiError(404, "update_not_found", "no double-signed state without pending operations")
    return JsonResponse(data)


@protocol_view(methods=("GET",), owner_param="user")
def update_at(request: HttpRequest, user: str, tx_count: str) -> JsonResponse:
    data = selectors.state_at(user, int(tx_count))
    if data is None:
        raise ApiError(404, "update_not_found", f"no update with txCount {tx_count}")
    return JsonResponse(data)


@protocol_view(methods=("POST",), owner_param="user")
def request_deposit(request: HttpRequest, user: str) -> JsonResponse:
    body = json_body(request)
    params = _sync_params(body)
    channel_request_deposit(user=user, deposit_wei=body.get("depositWei", "0"),
                                     deposit_token=body.get("depositToken", "0"),
                                     sig_user=body.get("sigUser"))
    return JsonResponse(_sync(user, params))


@protocol_view(methods=("POST",), owner_param="user")
def request_collateralization(request: HttpRequest, user: str) -> JsonResponse:
    body = json_body(request)
    params = _sync_params(body)
    collateral_request(user=user)
    return JsonResponse(_sync(user, params))


@protocol_view(methods=("POST",), owner_param="user")
def request_exchange(request: HttpRequest, user: str) -> JsonResponse:
    body = json_body(request)
    params = _sync_params(body)
    held_while_hub_deposit_arrives(
        lambda: exchange_request(user=user, wei_to_sell=body.get("weiToSell", "0"),
                                 tokens_to_sell=body.get("tokensToSell", "0")),
        channel_of=lambda _refusal: user)
    return JsonResponse(_sync(user, params))


@protocol_view(methods=("POST",), owner_param="user")
def request_withdrawal(request: HttpRequest, user: str) -> JsonResponse:
    body = json_body(request)
    params = _sync_params(body)
    held_while_hub_deposit_arrives(lambda: channel_request_withdrawal(user=user, params=body),
                                   channel_of=lambda _refusal: user)
    return JsonResponse(_sync(user, params))


@protocol_view(methods=("POST",), owner_param="user")
def update(request: HttpRequest, user: str) -> JsonResponse:
    """Apply the client's updates in txCount order, one transaction each; stop at the first
    error and report it beside the sync from the first update's predecessor."""
    body = json_body(request)
    updates = body.get("updates")
    if not isinstance(updates, list) or not updates:
        raise ApiError(400, "bad_args", "updates must be a non-empty list")
    if len(updates) > 100:
        raise ApiError(400, "bad_args", "at most 100 updates per request")

    def tx_count_of(item: object) -> int:
        if isinstance(item, dict):
            value = item.get("txCount")
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        raise ApiError(400, "bad_args", "every update needs a non-negative integer txCount")

    ordered = sorted(updates, key=tx_count_of)
    first = tx_count_of(ordered[0])
    _, last_thread = _sync_params({"lastThreadUpdateId": body.get("lastThreadUpdateId")})  # before any write
    error: dict[str, str] | None = None
    for item in ordered:
        try:
            channel_apply_client_update(user=user, request=item)
        except UpdateRejected as exc:
            error = {"code": exc.code, "message": exc.message}
        except ChannelError as exc:
            error = {"code": exc.code, "message": exc.message}
        if error is not None:
            break
    sync = sync_feed(user=user, last_chan_tx=max(first - 1, 0), last_thread_update_id=last_thread)
    payload: dict[str, object] = {"updates": sync}
    if error is not None:
        payload["error"] = error["message"]
        payload["code"] = error["code"]
        payload["message"] = error["message"]  # the API's one error shape, beside the sync
    return JsonResponse(payload, status=200 if error is None else 400)
