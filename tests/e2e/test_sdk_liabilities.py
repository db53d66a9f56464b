"""The SDK fetches its own liability proofs from a running hub (pytest-django's live_server, anvil
with the real contracts) and verifies them offline against the hub address from its config."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from hub.ledger.services import post
from hub.liabilities.services import liabilities_publish
from tests.chain_env import ETH, ChainEnv
from tests.e2e.test_sdk_channel_flows import deposit, make_channel
from tests.hub.api.test_channel_flows import set_rate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "client"))

from spoke_client import LiabilityProofInvalid, verify_liability_proof

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_the_sdk_verifies_its_proof_fetched_from_a_running_hub(
        hub_chain: ChainEnv, live_server: Any, tmp_path: Path) -> None:
    set_rate("200")
    channel = make_channel(hub_chain, live_server, tmp_path)
    deposit(channel, wei=ETH // 5)
    me = channel.hub.address.lower()
    with transaction.atomic():  # and a custodial balance (payments received in custodial mode)
        post([(f"custodial:{me}", "token", 4 * 10**18), ("hub:custodial_float", "token", -4 * 10**18)])
    liabilities_publish()

    hub_address = channel.hub.config()["hubAddress"]  # what the wallet already trusts
    latest = channel.hub.liabilities_latest()
    document = channel.hub.liability_proof()
    assert document["root"]["commitment"] == latest["commitment"]
    proven = {(p["account"], p["asset"]): verify_liability_proof(p, document["root"], hub_address)
              for p in document["proofs"]}
    assert proven == {(f"channel:{me}", "wei"): channel.state.balance_wei_user,
                      (f"custodial:{me}", "token"): 4 * 10**18}

    forged = copy.deepcopy(document["proofs"][0])
    forged["amount"] = str(int(forged["amount"]) * 2)
    forged.pop("leafHash")
    with pytest.raises(LiabilityProofInvalid):
        verify_liability_proof(forged, document["root"], hub_address)
    with pytest.raises(LiabilityProofInvalid) as err:
        verify_liability_proof(document["proofs"][0], document["root"], "0x" + "12" * 20)
    assert err.value.code == "wrong_hub"
