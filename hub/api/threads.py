"""Thread routes of the protocol API. Threads are switched off (GlobalSwitches.threads_enabled)
and none exist until the threads work lands, but the Connext client reads these lists on start,
so they answer truthfully: no threads."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.api.base import ApiError, protocol_view


@protocol_view(methods=("GET",), owner_param="user")
def thread_list(request: HttpRequest, user: str, which: str) -> JsonResponse:
    return JsonResponse([], safe=False)


@protocol_view(methods=("GET",), owner_param="user")
def last_update_id(request: HttpRequest, user: str) -> JsonResponse:
    return JsonResponse({"latestThreadUpdateId": 0})


@protocol_view(methods=("GET",), owner_param="sender")
def thread_between(request: HttpRequest, sender: str, receiver: str) -> JsonResponse:
    raise ApiError(404, "thread_not_found", f"no open thread from {sender} to {receiver}")


@protocol_view(methods=("POST",), owner_param="sender")
def thread_update(request: HttpRequest, sender: str, receiver: str) -> JsonResponse:
    raise ApiError(403, "threads_disabled", "threads are not enabled on this hub")
