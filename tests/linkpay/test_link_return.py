"""Links going back to their senders (cancel, expiry) and paid out on-chain (the page's claim)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from linkpay.errors import REDEEMED_MESSAGE, LinkError
from linkpay.models import Link
from linkpay.services import link_claim_onchain, links_expire_due
from payments.events.models import Event
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.linkpay.helpers import buy_link, link_entries, redeem
from tests.payments.conftest import Shop, credit_custodial
from tests.purchases.helpers import accept_hub_updates, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_the_sender_cancels_an_unredeemed_link_and_gets_it_back_in_the_channel(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    secret, link = buy_link(alice, token=4 * TOKEN)
    listed = alice.get(f"links/{alice.address}").json()
    assert [row["id"] for row in listed] == [link.public_id] and "secret" not in listed[0]
    bob = funded_user(hub_chain)
    assert bob.post(f"links/{link.public_id}/cancel", {}).status_code == 404  # not bob's
    response = alice.post(f"links/{link.public_id}/cancel", {"lastChanTx": alice.latest.tx_count_global})
    assert response.status_code == 200, response.content
    assert response.json()["link"]["status"] == "cancelled"
    assert [u["update"]["reason"] for u in response.json()["sync"]["updates"]] == ["Payment"]
    assert accept_hub_updates(hub_chain, alice) == ["Payment"]
    assert alice.latest.balance_token_user == 10 * TOKEN
    assert link_entries(link) == [(4 * TOKEN, f"link {link.public_id} held"),
                                  (-4 * TOKEN, f"link {link.public_id} cancelled: returned to channel")]
    again = redeem(bob, secret)
    assert again.status_code == 410 and again.json()["message"] == "Payment has been cancelled."
    assert alice.post(f"links/{link.public_id}/cancel", {}).json()["code"] == "link_cancelled"
    assert list(Event.objects.order_by("id").values_list("type", flat=True)) == ["link.created", "link.cancelled"]


def test_an_expired_merchant_link_returns_to_the_custodial_accounts_it_came_from(
        hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "wei", 1000)
    created = shop.client().post("/api/v1/links", {"amount": "600", "asset": "wei"}).json()
    from tests.linkpay.secret_scan import register

    register(created["secret"])
    Link.objects.filter(public_id=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert links_expire_due() == 1
    assert links_expire_due() == 0
    assert account_balance(f"custodial:{shop.address}", "wei") == 1000
    link = Link.objects.get(public_id=created["id"])
    assert link_entries(link) == [(600, f"link {link.public_id} held"),
                                  (-600, f"link {link.public_id} expired: returned to custodial balance")]
    assert LedgerEntry.objects.filter(account=f"custodial:{shop.address}", amount=-600,
                                      memo=f"link {link.public_id} funded from custodial balance").count() == 1
    detail = shop.client().get(f"/api/v1/links/{created['id']}").json()
    assert (detail["status"], detail["returned_to"]) == ("expired", "custodial")
    assert Event.objects.filter(merchant=shop.merchant, type="link.expired").count() == 1


def test_a_claim_to_an_address_is_paid_on_chain_through_the_outbox(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, wei=ETH // 2)
    secret, link = buy_link(alice, wei=ETH // 10)
    to = Account.create().address
    claimed = link_claim_onchain(link_public_id=link.public_id, secret=secret, to=to)
    assert (claimed.status, claimed.payout, claimed.redeemer) == ("redeeming", "onchain", to.lower())
    with pytest.raises(LinkError, match=re.escape(REDEEMED_MESSAGE)):
        link_claim_onchain(link_public_id=link.public_id, secret=secret, to=Account.create().address)
    run_hub_transactions()
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(to)) == ETH // 10
    link.refresh_from_db()
    assert link.status == "redeemed" and link_entries(link) == [
        (ETH // 10, f"link {link.public_id} held"), (-(ETH // 10), f"link {link.public_id} paid on-chain")]
    assert Event.objects.filter(type="link.redeemed").count() == 1


def test_a_failed_payout_reopens_the_link_and_a_second_claim_pays_tokens(hub_chain: ChainEnv) -> None:
    from hub.chain.deploy import contract_at, mint_tokens

    token = contract_at(hub_chain.w3, "SpokeTestToken", hub_chain.deployment.token)
    amount = token.functions.balanceOf(hub_chain.hub.address).call() + TOKEN  # more than the wallet has
    alice = funded_user(hub_chain, tokens=amount)
    secret, link = buy_link(alice, token=amount)
    to = Account.create().address
    link_claim_onchain(link_public_id=link.public_id, secret=secret, to=to)
    run_hub_transactions()
    link.refresh_from_db()
    assert (link.status, link.redeemer, link.claim_attempts) == ("open", "", 1)
    assert account_balance(link.ledger_account, "token") == amount  # still held
    mint_tokens(hub_chain.w3, hub_chain.hub, hub_chain.deployment.token, hub_chain.hub.address, amount)
    link_claim_onchain(link_public_id=link.public_id, secret=secret, to=to)
    run_hub_transactions()
    assert token.functions.balanceOf(to).call() == amount
    link.refresh_from_db()
    assert link.status == "redeemed" and account_balance(link.ledger_account, "token") == 0
