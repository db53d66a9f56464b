"""The Card's page and its chain relay (see hub/card/__init__.py)."""

from __future__ import annotations

from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from hub.chain.client import get_web3
from ops import jsonbody

# What a wallet needs from the node: read its balance and nonce, price gas, send a transaction it
# signed itself, and follow it. Nothing that writes with the node's own accounts (eth_sendTransaction)
# or reads beyond that.
RELAYED_METHODS = frozenset({
    "eth_chainId", "eth_blockNumber", "eth_getBalance", "eth_getTransactionCount", "eth_gasPrice",
    "eth_estimateGas", "eth_sendRawTransaction", "eth_getTransactionReceipt", "eth_call",
})
MAX_BODY = 64 * 1024

# The page holds the key: nothing but our own scripts, styles, fetches (the hub's API, the relay,
# the WebSocket) and data: images (QR codes); no form posts anywhere.
CARD_CSP = {
    "default-src": [NONE], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF, "data:", "blob:"],
    "connect-src": [SELF], "media-src": [SELF, "blob:"], "form-action": [NONE], "frame-ancestors": [NONE],
    "base-uri": [NONE], "manifest-src": [SELF],
}


@require_GET
@never_cache
@csp(CARD_CSP)
def card_page(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/card.html", {
        "chain_id": settings.CHAIN_ID,
        "deposit_cap_tokens": settings.DEPOSIT_EXCHANGE_CAP_TOKENS,
    })


@require_GET
def card_service_worker(request: HttpRequest) -> HttpResponse:
    """static/card/sw.js under /card/, the path a service worker must have to serve the page."""
    path = finders.find("card/sw.js")
    with open(str(path), "rb") as handle:
        body = handle.read()
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _rpc_error(req_id: Any, code: int, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"jsonrpc": "2.0", "id": req_id, "error": {"code": code, "message": message}},
                        status=status)


@csrf_exempt  # no cookies are read: the relay acts for nobody, a signed transaction speaks for itself
@require_POST
def card_rpc(request: HttpRequest) -> JsonResponse:
    try:
        call = jsonbody.loads(request.body, max_bytes=MAX_BODY)
    except jsonbody.JsonBodyError as exc:
        return _rpc_error(None, -32700, exc.message, status=exc.status)
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _rpc_error(None, -32600, "one JSON-RPC call per request")
    req_id = call.get("id")
    method, params = call["method"], call.get("params") or []
    if method not in RELAYED_METHODS:
        return _rpc_error(req_id, -32601, f"{method[:60]} is not relayed")
    if not isinstance(params, list) or len(params) > 4:
        return _rpc_error(req_id, -32602, "params is a short list")
    try:
        answer = get_web3().provider.make_request(method, params)  # type: ignore[arg-type]
    except Exception as exc:  # the node is down or refused: a JSON-RPC error; the wallet retries later
        return _rpc_error(req_id, -32000, f"the chain node did not answer: {type(exc).__name__}", status=200)
    out: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id}
    if answer.get("error") is not None:
        out["error"] = answer["error"]
    else:
        out["result"] = answer.get("result")
    return JsonResponse(out)
