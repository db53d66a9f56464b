"""Bad input gets a 4xx with a stable code and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from hub.channels.models import Channel, ChannelUpdate, DepositAuthorization, ProposedUpdate
from hub.ledger.models import LedgerEntry
from tests.chain_env import ETH, ChainEnv
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]


def counts() -> tuple[int, ...]:
    return (Channel.objects.count(), ChannelUpdate.objects.count(), LedgerEntry.objects.count(),
            ProposedUpdate.objects.count(), DepositAuthorization.objects.count())


@pytest.fixture
def sim(hub_chain: ChainEnv) -> UserSim:
    user = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    user.login()
    return user


def deposit_body(sim: UserSim, **overrides: Any) -> dict[str, Any]:
    body = {"depositWei": str(ETH), "depositToken": "0",
            "sigUser": sim.signer.sign_deposit_request(0, ETH), "lastChanTx": 0}
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("route", "body", "status", "code"),
    [
        ("request-deposit", {"depositWei": "-1"}, 400, "bad_args"),
        ("request-deposit", {"depositWei": "1.5"}, 400, "bad_args"),
        ("request-deposit", {"depositWei": "ten"}, 400, "bad_args"),
        ("request-deposit", {"depositWei": 1e18}, 400, "bad_args"),
        ("request-deposit", {"depositWei": str(2**256)}, 400, "bad_args"),
        ("request-deposit", {"depositWei": "0", "depositToken": "0"}, 400, "bad_args"),
        ("request-deposit", {"sigUser": "0x1234"}, 400, "bad_signature"),
        ("request-deposit", {"sigUser": "0x" + "zz" * 65}, 400, "bad_signature"),
        ("request-deposit", {"sigUser": None}, 400, "bad_signature"),
        # a valid request with a malformed sync parameter is refused before anything is written
        ("request-deposit", {"lastChanTx": "a\u0000b"}, 400, "bad_args"),
        ("request-deposit", {"lastThreadUpdateId": "-1"}, 400, "bad_args"),
        ("request-collateralization", {"lastChanTx": "a\u0000b"}, 400, "bad_args"),
        ("request-collateralization", {"lastThreadUpdateId": "x"}, 400, "bad_args"),
        ("request-exchange", {"weiToSell": "-5", "tokensToSell": "0"}, 400, "bad_args"),
        ("request-exchange", {"weiToSell": "1", "tokensToSell": "1"}, 400, "bad_args"),
        ("request-withdrawal", {"recipient": "0x123", "withdrawalWeiUser": "1"}, 400, "bad_args"),
        ("request-withdrawal", {"recipient": "0x" + "ab" * 20, "withdrawalWeiUser": "x"}, 400, "bad_args"),
        ("update", {"updates": []}, 400, "bad_args"),
        ("update", {"updates": "nope"}, 400, "bad_args"),
        ("update", {"updates": [{"reason": "Payment", "txCount": -1}]}, 400, "bad_args"),
        ("update", {"updates": [{"reason": "Payment", "txCount": 7, "args": {}}]}, 400, "tx_count_global"),
        ("update", {"updates": [{"reason": "ConfirmPending", "txCount": 1, "args": {}}]}, 400, "reason_not_accepted"),
        ("update", {"updates": [{"reason": "Payment", "txCount": 1, "sigUser": "0xbad",
                                 "args": {"recipient": "hub", "amountWei": "1", "amountToken": "0"}}]},
         400, "insufficient_balance"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_changes_nothing(
    sim: UserSim, route: str, body: dict[str, Any], status: int, code: str
) -> None:
    if route == "request-deposit":
        body = deposit_body(sim, **body)
    before = counts()
    response = sim.post(f"channel/{sim.address}/{route}", body)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert counts() == before


def test_malformed_json_is_refused(sim: UserSim) -> None:
    response = sim.client.post(f"/api/hub/channel/{sim.address}/request-deposit", data="{not json",
                               content_type="application/json", headers=sim.headers)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_an_oversized_body_is_refused(sim: UserSim) -> None:
    before = counts()
    blob = json.dumps(deposit_body(sim, padding="x" * 400_000))
    response = sim.client.post(f"/api/hub/channel/{sim.address}/request-deposit", data=blob,
                               content_type="application/json", headers=sim.headers)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert counts() == before


@pytest.mark.parametrize("path", ["channel/0x1234/sync", "channel/not-an-address", "nope"])
def test_unknown_or_malformed_routes_get_a_json_404(sim: UserSim, path: str) -> None:
    response = sim.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_nonce_needs_a_well_formed_address(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    response = sim.client.get("/api/hub/nonce", headers={"x-address": "0xnothex"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_address"
