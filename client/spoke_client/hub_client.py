"""HTTP access to the hub's channel API (`HUB_URL=http://host/api/hub`, docs/protocol.md §4).

Authentication is the Connext nonce handshake: `GET nonce` with `x-address` returns `{nonce}`;
every later request carries `x-address`, `x-nonce` and `x-signature` (the personal-message
signature of the nonce). On a 403 the client fetches a fresh nonce once and retries, as the
Connext client does. Errors become `HubError` subclasses carrying the hub's stable `code`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .errors import AuthError, HubError, HubUnavailable, NotFound
from .keys import UserKey


def _error_from(response: httpx.Response) -> HubError:
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = f"http_{response.status_code}"
    message = response.reason_phrase or ""
    if isinstance(body, Mapping):
        code = str(body.get("code") or code)
        for key in ("message", "error", "msg", "detail"):
            if isinstance(body.get(key), str):
                message = body[key]
                break
    elif isinstance(body, str) and body:
        message = body
    cls: type[HubError] = HubError
    if response.status_code == 404:
        cls = NotFound
    elif response.status_code in (401, 403):
        cls = AuthError
    return cls(response.status_code, code, message, body)


class HubClient:
    """One user's authenticated session with a hub.

    hub_url: the base URL, e.g. ``http://localhost:8000/api/hub`` (no trailing slash needed).
    key: the user's key; its address is the `x-address` of every request.
    transport: an optional httpx transport (tests use `httpx.MockTransport`).
    """

    def __init__(
        self,
        hub_url: str,
        key: UserKey,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.key = key
        self.address = key.address
        self._nonce: str | None = None
        self._signature: str | None = None
        self._http = httpx.Client(base_url=self.hub_url + "/", timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -----------------------------------------------------------------------

    def authenticate(self) -> None:
        """Fetch a nonce and sign it. Called automatically before the first request and on 403."""
        data = self._send("GET", "nonce", auth=False)
        nonce = data.get("nonce") if isinstance(data, Mapping) else None
        if not isinstance(nonce, str) or not nonce:
            raise AuthError(200, "no_nonce", "the hub returned no nonce", data)
        self._nonce = nonce
        self._signature = self.key.sign_message(nonce)

    def auth_headers(self) -> dict[str, str]:
        """Headers of an authenticated request (also used for the WebSocket handshake)."""
        if self._nonce is None or self._signature is None:
            self.authenticate()
        assert self._nonce is not None and self._signature is not None
        return {"x-address": self.address, "x-nonce": self._nonce, "x-signature": self._signature}

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        for attempt in (1, 2):
            headers = self.auth_headers() if auth else {"x-address": self.address}
            try:
                response = self._http.request(method, path, json=body, params=params, headers=headers)
            except httpx.TransportError as exc:
                raise HubUnavailable(f"{method} {path}: {exc}") from exc
            if response.status_code == 403 and auth and attempt == 1:
                self.authenticate()
                continue
            if response.status_code == 204:
                return None
            if response.is_success:
                return response.json() if response.content else None
            raise _error_from(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, auth: bool = True) -> Any:
        return self._send("GET", path, params=params, auth=auth)

    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", path, body=body)

    def invoice_payable(self, invoice: str) -> dict[str, Any]:
        """The public payable state of an invoice (`GET /api/v1/public/invoices/<id>`, no API
        key): `invoice` is its id or its checkout URL (`https://shop.example/pay/inv_...`)."""
        invoice = invoice.strip()
        parsed = httpx.URL(invoice) if "://" in invoice else None
        if parsed is not None:
            parts = [p for p in parsed.path.split("/") if p]
            if len(parts) < 2 or parts[-2] != "pay":
                raise ValueError(f"not a checkout URL: {invoice}")
            origin, invoice_id = f"{parsed.scheme}://{parsed.netloc.decode()}", parts[-1]
        else:
            hub = httpx.URL(self.hub_url)
            origin, invoice_id = f"{hub.scheme}://{hub.netloc.decode()}", invoice
        try:
            response = self._http.get(f"{origin}/api/v1/public/invoices/{invoice_id}")
        except httpx.TransportError as exc:
            raise HubUnavailable(f"GET invoice {invoice_id}: {exc}") from exc
        if not response.is_success:
            raise _error_from(response)
        data: dict[str, Any] = response.json()
        return data

    # ---- public routes -------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """`{contractAddress, ethChainId, hubAddress, tokenAddress, maxCollateralization}`."""
        result: dict[str, Any] = self.get("config", auth=False)
        return result

    def exchange_rate(self) -> dict[str, Any]:
        """`{rates: {DAI: "<tokens per ETH>"}, ...}`."""
        result: dict[str, Any] = self.get("exchangeRate", auth=False)
        return result

    def gas_price(self) -> Any:
        return self.get("gasPrice/estimate", auth=False)

    def feature_flags(self) -> Any:
        return self.get("featureFlags", auth=False)

    # ---- channel -------------------------------------------------------------------------

    def get_channel(self, user: str | None = None) -> Any:
        return self.get(f"channel/{user or self.address}")

    def sync(self, last_chan_tx: int, last_thread_update_id: int = 0) -> Any:
        return self.get(
            f"channel/{self.address}/sync",
            params={"lastChanTx": last_chan_tx, "lastThreadUpdateId": last_thread_update_id},
        )

    def latest_update(self) -> Any:
        return self.get(f"channel/{self.address}/latest-update")

    def latest_no_pending(self) -> Any:
        return self.get(f"channel/{self.address}/latest-no-pending")

    def update_at(self, tx_count: int) -> Any:
        return self.get(f"channel/{self.address}/update/{tx_count}")

    def request_deposit(
        self, *, deposit_wei: int, deposit_token: int, sig_user: str, last_chan_tx: int,
        last_thread_update_id: int = 0,
    ) -> Any:
        return self.post(f"channel/{self.address}/request-deposit", {
            "depositWei": str(deposit_wei),
            "depositToken": str(deposit_token),
            "sigUser": sig_user,
            "lastChanTx": last_chan_tx,
            "lastThreadUpdateId": last_thread_update_id,
        })

    def request_collateralization(self, *, last_chan_tx: int) -> Any:
        return self.post(f"channel/{self.address}/request-collateralization",
                         {"lastChanTx": last_chan_tx})

    def request_exchange(self, *, wei_to_sell: int, tokens_to_sell: int, last_chan_tx: int) -> Any:
        return self.post(f"channel/{self.address}/request-exchange", {
            "weiToSell": str(wei_to_sell),
            "tokensToSell": str(tokens_to_sell),
            "lastChanTx": last_chan_tx,
        })

    def request_withdrawal(self, withdrawal: Mapping[str, Any], *, last_chan_tx: int) -> Any:
        """`withdrawal` is the client's WithdrawalParameters: recipient, exchangeRate,
        withdrawalWeiUser, withdrawalTokenUser, tokensToSell, weiToSell (decimal strings)."""
        return self.post(f"channel/{self.address}/request-withdrawal",
                         {"lastChanTx": last_chan_tx, **withdrawal})

    def post_updates(self, updates: Sequence[Mapping[str, Any]], last_thread_update_id: int = 0) -> Any:
        """`POST channel/:user/update` → `{error?, updates: <sync>}`."""
        return self.post(f"channel/{self.address}/update",
                         {"updates": list(updates), "lastThreadUpdateId": last_thread_update_id})

    # ---- payments ------------------------------------------------------------------------

    def purchase(self, *, meta: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> Any:
        """`POST payments/purchase` → `{purchaseId, sync}`."""
        return self.post("payments/purchase", {"meta": dict(meta), "payments": list(payments)})

    def get_purchase(self, purchase_id: str) -> Any:
        return self.get(f"payments/purchase/{purchase_id}")

    def payment_history(self) -> Any:
        return self.get(f"payments/history/{self.address}")

    def redeem(self, secret: str, *, last_chan_tx: int, last_thread_update_id: int = 0) -> Any:
        """`POST payments/redeem/:user` → `{purchaseId, amount, sync}`."""
        return self.post(f"payments/redeem/{self.address}", {
            "secret": secret, "lastChanTx": last_chan_tx,
            "lastThreadUpdateId": last_thread_update_id,
        })

    # ---- proof of liabilities ------------------------------------------------------------

    def liabilities_latest(self) -> Any:
        """The latest signed root (public)."""
        return self.get("liabilities/latest", auth=False)

    def liability_proof(self) -> Any:
        """`{root, accounts, proofs}`: this user's inclusion proofs in the latest root; check each
        with `verify_liability_proof(proof, document["root"], hub_address)`."""
        return self.get("liabilities/proof")

    # ---- custodial -----------------------------------------------------------------------

    def custodial_balance(self) -> Any:
        return self.get(f"custodial/{self.address}/balance")

    def custodial_withdraw(self, *, amount_token: int, recipient: str) -> Any:
        return self.post("custodial/withdrawals",
                         {"amountToken": str(amount_token), "recipient": recipient})

    def custodial_withdrawals(self) -> Any:
        return self.get(f"custodial/{self.address}/withdrawals")
