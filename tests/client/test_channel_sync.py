"""Channel against scripted hub responses (httpx.MockTransport): the hub API is not under test
here, the wallet's handling of what a hub sends is. Hub states are built with hub.core."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from spoke_client import (
    Channel,
    HubClient,
    HubError,
    MemoryStateStore,
    ProposalRejected,
)
from spoke_client.store import ChannelRecord

from hub.core import ChannelState, HubRate, apply_update, recover

from .factories import CONTRACT, E18, HUB, NOW, RATE, USER, funded, hub_signed, sync_of, update_json

Handler = Callable[[httpx.Request], httpx.Response]
CONFIG = {"contractAddress": CONTRACT, "hubAddress": HUB.address, "ethChainId": "31337",
          "tokenAddress": "0x" + "70" * 20, "maxCollateralization": str(170 * E18)}


class ScriptedHub:
    """Routes by (method, path suffix); records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []
        self.nonce = "0x" + "5a" * 32

    def on(self, method: str, suffix: str, handler: Handler | Any) -> None:
        self.routes[(method, suffix)] = handler if callable(handler) else (
            lambda _r, body=handler: httpx.Response(200, json=body))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/hub/")
        if path == "nonce":
            return httpx.Response(200, json={"nonce": self.nonce})
        if path not in ("config", "exchangeRate"):
            sig = request.headers.get("x-signature")
            if request.headers.get("x-nonce") != self.nonce or not sig:
                return httpx.Response(403, json={"code": "auth_required", "message": "sign the nonce"})
        for (method, suffix), handler in self.routes.items():
            if request.method == method and path.endswith(suffix):
                return handler(request)
        return httpx.Response(404, json={"code": "not_found", "message": path})

    def posted(self, suffix: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests
                if r.method == "POST" and r.url.path.endswith(suffix)]


def make_channel(hub: ScriptedHub, prev: ChannelState | None = None) -> tuple[Channel, MemoryStateStore]:
    client = HubClient("http://hub.test/api/hub", USER, transport=httpx.MockTransport(hub))
    store = MemoryStateStore()
    if prev is not None:
        store.save(ChannelRecord(state=prev, exitable=prev if prev.timeout == 0 else None))
    channel = Channel(client, store=store, config=CONFIG, clock=lambda: NOW,
                      rate_source=lambda: RATE)
    return channel, store


def test_the_nonce_handshake_runs_on_403_and_signs_the_nonce_bytes() -> None:
    hub = ScriptedHub()
    hub.on("GET", "/sync", sync_of())
    channel, _ = make_channel(hub, funded())
    channel.sync()
    paths = [r.url.path.rsplit("/", 1)[-1] for r in hub.requests]
    assert paths == ["nonce", "sync"]
    sig = hub.requests[-1].headers["x-signature"]
    # ethers signMessage semantics: a 0x-hex nonce is signed as its bytes
    from eth_account import Account
    from eth_account.messages import encode_defunct
    assert Account.recover_message(encode_defunct(primitive=bytes.fromhex(hub.nonce[2:])),
                                   signature=sig).lower() == USER.address


def test_hub_errors_carry_the_stable_code() -> None:
    hub = ScriptedHub()
    hub.on("POST", "/request-exchange", lambda r: httpx.Response(
        400, json={"code": "pending_operations", "message": "finish the deposit first"}))
    channel, _ = make_channel(hub, funded())
    with pytest.raises(HubError) as info:
        channel.exchange(wei_to_sell=E18 // 10)
    assert (info.value.status, info.value.code) == (400, "pending_operations")


def test_a_hub_payment_is_countersigned_persisted_before_posting_and_adopted() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": str(7 * E18)}
    sig_hub = hub_signed(apply_update(prev, "Payment", args, now=NOW)).sig_hub
    hub = ScriptedHub()
    hub.on("GET", "/sync", sync_of(update_json("Payment", args, tx_count=6, sig_hub=sig_hub)))
    channel, store = make_channel(hub, prev)
    stored_at_post: list[int] = []

    def on_update(request: httpx.Request) -> httpx.Response:
        saved = store.load(CONTRACT, USER.address)
        assert saved is not None
        stored_at_post.append(saved.state.tx_count_global)
        return httpx.Response(200, json={"updates": sync_of()})

    hub.on("POST", "/update", on_update)
    adopted = channel.sync()
    assert [s.tx_count_global for s in adopted] == [6]
    assert stored_at_post == [6]
    assert channel.state.balance_token_user == 107 * E18
    assert recover(_hash(channel.state), channel.state.sig_user) == USER.address
    (body,) = hub.posted("/update")
    (req,) = body["updates"]
    assert (req["reason"], req["txCount"], req["sigHub"]) == ("Payment", 6, sig_hub)
    assert req["sigUser"] == channel.state.sig_user
    assert channel.export_exit_args()["txCount"] == [6, 1]


def _hash(state: ChannelState) -> str:
    from hub.core import channel_state_hash

    return channel_state_hash(state)


def test_a_refused_proposal_is_not_signed_or_posted() -> None:
    prev = funded()
    args = {"recipient": "hub", "amountWei": "0", "amountToken": str(7 * E18)}
    sig_hub = hub_signed(apply_update(prev, "Payment", args, now=NOW)).sig_hub
    hub = ScriptedHub()
    hub.on("GET", "/sync", sync_of(update_json("Payment", args, tx_count=6, sig_hub=sig_hub)))
    channel, _ = make_channel(hub, prev)
    assert channel.sync() == []
    assert hub.posted("/update") == []
    assert channel.state == prev
    assert [r.code for r in channel.rejections] == ["policy_unrequested_payment"]


def test_a_double_signed_state_with_a_forged_user_signature_is_refused() -> None:
    prev = funded()
    args = {"recipient": "hub", "amountWei": "0", "amountToken": str(100 * E18)}
    new = hub_signed(apply_update(prev, "Payment", args, now=NOW))
    forged = HUB.sign_hash(_hash(new))  # not the user's key
    hub = ScriptedHub()
    hub.on("GET", "/sync", sync_of(update_json("Payment", args, tx_count=6, sig_hub=new.sig_hub,
                                               sig_user=forged)))
    channel, _ = make_channel(hub, prev)
    with pytest.raises(ProposalRejected) as info:
        channel.sync()
    assert info.value.code == "bad_signature"
    assert channel.state == prev


def test_an_exchange_is_signed_posted_and_the_hubs_countersigned_copy_adopted() -> None:
    prev = funded()
    args = {"seller": "user", "exchangeRate": RATE, "weiToSell": str(E18 // 10), "tokensToSell": "0"}
    hub = ScriptedHub()
    hub.on("POST", "/request-exchange", sync_of(update_json("Exchange", args, tx_count=None, id=-99)))

    def countersign(request: httpx.Request) -> httpx.Response:
        (req,) = json.loads(request.content)["updates"]
        assert (req["txCount"], req["id"]) == (6, -99)
        state = apply_update(prev, "Exchange", args, now=NOW, hub_rate=HubRate(RATE, NOW))
        state = state.replace(sig_user=req["sigUser"])
        state = HUB.sign_channel_state(state)
        return httpx.Response(200, json={"updates": sync_of(update_json(
            "Exchange", args, tx_count=6, sig_hub=state.sig_hub, sig_user=state.sig_user))})

    hub.on("POST", "/update", countersign)
    channel, store = make_channel(hub, prev)
    after = channel.exchange(wei_to_sell=E18 // 10)
    assert after.tx_count_global == 6 and after.is_double_signed
    assert after.balance_token_user == 120 * E18
    saved = store.load(CONTRACT, USER.address)
    assert saved is not None and saved.state == after


def test_a_purchase_posts_user_signed_payments_and_adopts_the_countersigned_states() -> None:
    prev = funded()
    merchant = "0x" + "4d" * 20
    hub = ScriptedHub()

    def purchase(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        (p,) = body["payments"]
        assert (p["recipient"], p["type"], p["amount"]) == (
            merchant, "PT_CHANNEL", {"amountWei": "0", "amountToken": str(3 * E18)})
        upd = p["update"]
        state = apply_update(prev, "Payment", upd["args"], now=NOW)
        assert recover(_hash(state), upd["sigUser"]) == USER.address
        sig_hub = HUB.sign_channel_state(state).sig_hub
        return httpx.Response(200, json={"purchaseId": "pur_1", "sync": sync_of(update_json(
            "Payment", upd["args"], tx_count=upd["txCount"], sig_hub=sig_hub, sig_user=upd["sigUser"]))})

    hub.on("POST", "payments/purchase", purchase)
    channel, _ = make_channel(hub, prev)
    result = channel.pay(merchant, amount_token=3 * E18, meta={"order": "A-1"})
    assert result.purchase_id == "pur_1"
    assert (result.state.tx_count_global, result.state.balance_token_user) == (6, 97 * E18)


def test_a_push_after_a_sequence_gap_triggers_a_full_sync() -> None:
    hub = ScriptedHub()
    hub.on("GET", "/sync", sync_of())
    channel, _ = make_channel(hub, funded())
    channel.handle_push(json.dumps({"seq": 1, "status": "CS_OPEN", "updates": []}))
    channel.handle_push(json.dumps({"seq": 2, "status": "CS_OPEN", "updates": []}))
    assert [r.url.path for r in hub.requests if r.url.path.endswith("/sync")] == []
    channel.handle_push(json.dumps({"seq": 4, "status": "CS_OPEN", "updates": []}))
    assert len([r for r in hub.requests if r.url.path.endswith("/sync")]) == 1


def test_the_exported_exit_arguments_have_the_contract_shape() -> None:
    hub = ScriptedHub()
    prev = funded()
    channel, _ = make_channel(hub, prev)
    args = channel.export_exit_args()
    assert list(args) == ["user", "weiBalances", "tokenBalances", "pendingWeiUpdates",
                          "pendingTokenUpdates", "txCount", "threadRoot", "threadCount",
                          "timeout", "sigHub", "sigUser"]
    assert [a.lower() for a in args["user"]] == [USER.address, USER.address]
    assert args["weiBalances"] == [2 * E18, E18]
    assert args["tokenBalances"] == [300 * E18, 100 * E18]
    assert (args["sigHub"], args["sigUser"]) == (prev.sig_hub, prev.sig_user)
