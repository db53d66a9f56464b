"""Thread routes of the protocol API (docs/protocol.md §4). Opening and closing a thread are channel
updates (`channel/:user/update`, OpenThread/CloseThread); a thread payment is a sender-signed
thread state posted here. Threads run only while operators have them switched on."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.api.base import ApiError, json_body, protocol_view
from hub.auth import is_operator
from hub.threads import selectors, services


def _party_only(request: HttpRequest, sender: str, receiver: str) -> tuple[str, str]:
    sender, receiver = sender.lower(), receiver.lower()
    caller = request.address  # type: ignore[attr-defined]
    if caller not in (sender, receiver) and not is_operator(caller):
        raise ApiError(403, "not_owner", "this route is only for the thread's parties")
    return sender, receiver


@protocol_view(methods=("GET",), owner_param="user")
def thread_list(request: HttpRequest, user: str, which: str) -> JsonResponse:
    return JsonResponse(selectors.thread_list(user, which), safe=False)


@protocol_view(methods=("GET",), owner_param="user")
def last_update_id(request: HttpRequest, user: str) -> JsonResponse:
    return JsonResponse({"latestThreadUpdateId": selectors.last_update_id(user)})


@protocol_view(methods=("GET",))
def thread_between(request: HttpRequest, sender: str, receiver: str) -> JsonResponse:
    sender, receiver = _party_only(request, sender, receiver)
    data = selectors.thread_between(sender, receiver)
    if data is None:
        raise ApiError(404, "thread_not_found", f"no open thread from {sender} to {receiver}")
    return JsonResponse(data)


@protocol_view(methods=("POST",))
def thread_update(request: HttpRequest, sender: str, receiver: str) -> JsonResponse:
    """`{update: {state: ThreadState}}` → the stored ThreadStateUpdate `{id, createdOn, state}`."""
    sender, receiver = _party_only(request, sender, receiver)
    body = json_body(request)
    update = body.get("update")
    if not isinstance(update, dict):
        raise ApiError(400, "bad_args", "update must be an object with a state")
    row = services.thread_pay(sender=sender, receiver=receiver, state=update.get("state"))
    return JsonResponse(row.to_sync_item()["update"])
