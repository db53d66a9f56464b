"""Smoke tests of the Connext client harness, and what the real client (connext@4.1.7) sends to a
hub. The hub API is not under test: a RecordingHub answers on loopback so these pin down the
client's side of the wire (routes, bodies, signatures) and check its hashes against hub.core."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import (
    ChannelState,
    HubRate,
    Signer,
    apply_update,
    assert_channel_signer,
    assert_deposit_request_signer,
)

from .harness import ConnextDriver
from .recording_hub import RecordingHub

HUB = Signer("0x" + "11" * 32)
USER_KEY = "0x" + "22" * 32
USER = Signer(USER_KEY)
CONTRACT = "0x" + "cc" * 20
E18 = 10**18
CONFIG = {"contractAddress": CONTRACT, "ethChainId": "31337", "hubAddress": HUB.address,
          "tokenAddress": "0x" + "70" * 20, "maxCollateralization": str(170 * E18)}
QUICK = 6.0  # seconds: commands whose hub answer never comes time out this fast


def funded_state() -> ChannelState:
    s = ChannelState(contract_address=CONTRACT, user=USER.address, recipient=USER.address,
                     balance_wei_hub=E18, balance_wei_user=E18, balance_token_hub=100 * E18,
                     balance_token_user=50 * E18, tx_count_global=4, tx_count_chain=1)
    return USER.sign_channel_state(HUB.sign_channel_state(s, as_party="hub"), as_party="user")


def with_channel(hub: RecordingHub, state: ChannelState) -> None:
    hub.on("GET", f"channel/{USER.address}/latest-update",
           {"id": 4, "reason": "Payment", "args": {"recipient": "user", "amountWei": "0", "amountToken": "1"},
            "state": state.to_json(), "createdOn": "2024-01-01T00:00:00.000Z"})
    hub.on("GET", f"channel/{USER.address}/latest-no-pending", state.to_json())
    hub.on("GET", "exchangeRate", {"rates": {"DAI": "200"}, "retrievedAt": 0})
    # start() fails unless this answers 200 once a channel exists (a 404 is not tolerated here)
    hub.on("GET", f"thread/{USER.address}/all", [])


@pytest.fixture
def hub() -> Any:
    with RecordingHub(CONFIG) as recording:
        yield recording


@pytest.fixture
def driver(hub: RecordingHub, anvil: Any) -> ConnextDriver:
    return ConnextDriver(hub_url=hub.url, eth_url=anvil.rpc_url, private_key=USER_KEY, timeout=60)


def test_the_driver_loads_connext_and_creates_a_client_from_the_hub_config(hub: RecordingHub,
                                                                           driver: ConnextDriver) -> None:
    result = driver.probe()
    assert result.result["clientClass"] == "ConnextInternal"
    assert result.result["user"] == USER.address
    assert (result.result["hubAddress"], result.result["contractAddress"]) == (HUB.address, CONTRACT)
    assert hub.routes() == ["GET config"]


def test_generate_secret_needs_no_hub() -> None:
    secret = ConnextDriver(hub_url=None).generate_secret()
    assert secret.startswith("0x") and len(secret) == 66


def test_start_up_of_a_new_user_polls_these_routes(hub: RecordingHub, driver: ConnextDriver) -> None:
    result = driver.state()
    assert result.channel is not None and result.channel["txCountGlobal"] == 0
    routes = hub.routes()
    u = USER.address
    # createClient, start(): config twice, then the first authenticated call is refused and the
    # client signs a nonce and retries
    assert routes[:5] == ["GET config", "GET config", f"GET custodial/{u}/balance", "GET nonce",
                          f"GET custodial/{u}/balance"]
    assert f"GET channel/{u}/latest-update" in routes
    for expected in (f"GET channel/{u}/sync", "GET exchangeRate"):
        assert expected in routes, routes
    sync = next(r for r in hub.requests if r.route == f"channel/{u}/sync")
    assert sync.query == {"lastChanTx": ["0"], "lastThreadUpdateId": ["0"]}
    assert sync.headers["x-address"] == u


def test_start_up_with_a_channel_loads_the_hubs_latest_state(hub: RecordingHub, driver: ConnextDriver) -> None:
    state = funded_state()
    with_channel(hub, state)
    result = driver.state()
    assert result.channel == state.to_json()
    u = USER.address
    routes = hub.routes()
    for expected in (f"GET channel/{u}/latest-no-pending", f"GET thread/{u}/last-update-id",
                     f"GET thread/{u}/all"):
        assert expected in routes, routes
    sync = next(r for r in hub.requests if r.route == f"channel/{u}/sync")
    assert sync.query["lastChanTx"] == ["4"]


def test_a_deposit_request_carries_a_deposit_signature_hub_core_accepts(hub: RecordingHub,
                                                                       driver: ConnextDriver) -> None:
    hub.on("POST", f"channel/{USER.address}/request-deposit", {"status": "CS_OPEN", "updates": []})
    result = driver.deposit(amount_wei=E18 // 10, amount_token=5 * E18, check=False, timeout=QUICK)
    assert not result.ok and "timed out" in (result.error or "")  # no proposal ever arrives
    (req,) = [r for r in hub.requests if r.route.endswith("/request-deposit")]
    body = req.body
    assert set(body) == {"depositWei", "depositToken", "sigUser", "lastChanTx", "lastThreadUpdateId"}
    assert (body["depositWei"], body["depositToken"], body["lastChanTx"]) == (str(E18 // 10), str(5 * E18), 0)
    assert_deposit_request_signer(5 * E18, E18 // 10, body["sigUser"], USER.address)


def test_a_purchase_carries_a_payment_state_hub_core_regenerates(hub: RecordingHub,
                                                                driver: ConnextDriver) -> None:
    state = funded_state()
    with_channel(hub, state)
    hub.on("POST", "payments/purchase", {"purchaseId": "pur_1", "sync": {"status": "CS_OPEN", "updates": []}})
    merchant = "0x" + "4d" * 20
    result = driver.buy([{"recipient": merchant, "amountToken": str(3 * E18), "type": "PT_CHANNEL",
                          "meta": {"sku": "tea"}}], meta={"order": "A-1"})
    assert result.result["purchaseId"] == "pur_1"
    (req,) = [r for r in hub.requests if r.route == "payments/purchase"]
    assert req.body["meta"] == {"order": "A-1"}
    (payment,) = req.body["payments"]
    assert (payment["recipient"], payment["type"], payment["meta"]) == (merchant, "PT_CHANNEL", {"sku": "tea"})
    assert payment["amount"] == {"amountWei": "0", "amountToken": str(3 * E18)}
    update = payment["update"]
    assert (update["reason"], update["txCount"]) == ("Payment", 5)
    assert update["args"] == {"recipient": "hub", "amountWei": "0", "amountToken": str(3 * E18)}
    new = apply_update(state, "Payment", update["args"], now=0).replace(sig_user=update["sigUser"])
    assert_channel_signer(new, hub_address=HUB.address, signer="user")


def test_an_unsigned_exchange_proposal_is_countersigned_and_posted_to_update(hub: RecordingHub,
                                                                            driver: ConnextDriver) -> None:
    state = funded_state()
    with_channel(hub, state)
    args = {"seller": "user", "exchangeRate": "200", "weiToSell": str(E18 // 10), "tokensToSell": "0"}
    proposal = {"type": "channel", "update": {"reason": "Exchange", "args": args, "txCount": None,
                                              "sigHub": None, "sigUser": None, "id": -1700000000000}}
    hub.on("POST", f"channel/{USER.address}/request-exchange", {"status": "CS_OPEN", "updates": [proposal]})
    expected = apply_update(state, "Exchange", args, now=0, hub_rate=HubRate("200", 0))
    countersigned = HUB.sign_channel_state(expected, as_party="hub")

    def accept(rec: Any) -> tuple[int, Any]:
        (upd,) = rec.body["updates"]
        signed = countersigned.replace(sig_user=upd["sigUser"])
        return 200, {"error": None, "updates": {"status": "CS_OPEN", "updates": [{"type": "channel", "update": {
            "reason": "Exchange", "args": args, "txCount": 5, "sigHub": signed.sig_hub,
            "sigUser": signed.sig_user, "createdOn": "2024-01-01T00:00:01.000Z", "id": 5}}]}}

    hub.on("POST", f"channel/{USER.address}/update", accept)
    result = driver.exchange(E18 // 10, "wei")
    (req,) = [r for r in hub.requests if r.route.endswith("/request-exchange")]
    assert req.body == {"lastChanTx": 4, "tokensToSell": "0", "weiToSell": str(E18 // 10)}
    (post,) = [r for r in hub.requests if r.route.endswith("/update")]
    assert set(post.body) == {"updates", "lastThreadUpdateId"}
    (upd,) = post.body["updates"]
    assert (upd["reason"], upd["txCount"], upd["id"]) == ("Exchange", 5, -1700000000000)
    assert_channel_signer(expected.replace(sig_user=upd["sigUser"]), hub_address=HUB.address, signer="user")
    assert result.channel is not None
    assert (result.channel["txCountGlobal"], result.channel["balanceTokenUser"]) == (5, str(70 * E18))
