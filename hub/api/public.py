"""Public routes of the protocol API: nonce, config, exchange rate, gas price, feature flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from hub.api.base import ApiError, protocol_view
from hub.auth import issue_nonce
from hub.chain.signer import hub_address
from hub.collateral.limits import policy as collateral_policy
from hub.core import UpdateRejected
from hub.rates.services import gas_latest, gas_refresh, gwei_of, rate_latest_row
from ops.models import GlobalSwitches


@protocol_view(methods=("GET",), auth=False)
def nonce(request: HttpRequest) -> JsonResponse:
    address = request.headers.get("x-address")
    if not address:
        raise ApiError(400, "bad_address", "the x-address header is required")
    try:
        return JsonResponse({"nonce": issue_nonce(address)})
    except UpdateRejected:
        raise ApiError(400, "bad_address", "x-address is not an address") from None


@protocol_view(methods=("GET",), auth=False)
def config(request: HttpRequest) -> JsonResponse:
    """What a client needs to talk to this hub. No secrets, ever."""
    return JsonResponse({
        "contractAddress": settings.CHANNEL_MANAGER_ADDRESS,
        "ethChainId": settings.CHAIN_ID,
        "hubAddress": hub_address(),
        "tokenAddress": settings.TOKEN_ADDRESS,
        "maxCollateralization": str(collateral_policy().ceiling),
    })


@protocol_view(methods=("GET",), auth=False)
def exchange_rate(request: HttpRequest) -> JsonResponse:
    row = rate_latest_row()
    if row is None:
        return JsonResponse({"id": None, "base": "ETH", "rates": {}, "retrievedAt": None})
    return JsonResponse({
        "id": row.pk,
        "base": row.base,
        "rates": {"DAI": row.rate, "USD": row.rate},
        "retrievedAt": int(row.retrieved_at.timestamp() * 1000),
    })


@protocol_view(methods=("GET",), auth=False)
def gas_estimate(request: HttpRequest) -> JsonResponse:
    row = gas_latest()
    if row is None:
        row = gas_refresh()
    if row is None:
        raise ApiError(503, "gas_price_unavailable", "no gas price is known yet")
    return JsonResponse({"gasPrice": str(gwei_of(row.fast_wei)), "retrievedAt":
                         int(row.retrieved_at.timestamp() * 1000)})


@protocol_view(methods=("GET",), auth=False)
def feature_flags(request: HttpRequest) -> JsonResponse:
    switches = GlobalSwitches.current()
    return JsonResponse({
        "bootySupport": True,
        "paymentsEnabled": switches.payments_enabled,
        "withdrawalsEnabled": switches.withdrawals_enabled,
        "threadsEnabled": switches.threads_enabled,
    })


@protocol_view(methods=("GET", "POST", "PUT", "PATCH", "DELETE"), auth=False)
def not_found(request: HttpRequest) -> JsonResponse:
    raise ApiError(404, "not_found", f"no such route: {request.path}")


@lru_cache(maxsize=1)
def _openapi_document() -> tuple[str, dict[str, Any]]:
    import yaml

    text = (Path(__file__).parent / "openapi.yaml").read_text()
    return text, yaml.safe_load(text)


@protocol_view(methods=("GET",), auth=False)
def schema(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document of these routes (hand-written: hub/api/openapi.yaml); YAML, or JSON
    with `?format=json`."""
    text, document = _openapi_document()
    if request.GET.get("format") == "json":
        return JsonResponse(document)
    return HttpResponse(text, content_type="application/yaml; charset=utf-8")
