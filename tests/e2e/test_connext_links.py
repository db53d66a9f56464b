"""Link payments with the real Connext v1 client (connext@4.1.7) on anvil: user A creates a link
with `buy` (PT_LINK); user B, who has no channel, redeems it with `redeem(secret)` (accepted as
pending; the hub requests collateral, B's client countersigns it, the hub deposits and pays) and
sees the funds after sync; a second redeem is refused with the client's expected message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from hub.chain.ingest import events_poll
from linkpay.models import Link
from linkpay.services import link_redemptions_complete
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.e2e.connext.harness import ConnextDriver
from tests.hub.api.test_channel_flows import run_hub_transactions, set_rate
from tests.linkpay import secret_scan

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ZERO = "0x" + "0" * 40


@pytest.fixture
def hub_worker(hub_chain: ChainEnv) -> Iterator[None]:
    """What the worker and scheduler do: hub transactions, event ingestion, pending redemptions."""
    from linkpay.ratelimit import guess_reset

    guess_reset([("ip", "127.0.0.1")])
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(0.5):
                run_hub_transactions()
                events_poll()
                link_redemptions_complete()
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def driver_for(env: ChainEnv, live_server: Any, **funds: int) -> ConnextDriver:
    account = env.new_user(**funds)
    return ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=env.rpc_url,
                         private_key="0x" + bytes(account.key).hex(), timeout=120)


def test_a_link_bought_with_the_client_is_redeemed_by_a_user_without_a_channel(
        hub_chain: ChainEnv, live_server: Any, hub_worker: None) -> None:
    secret_scan.capture_logs()
    set_rate("200")
    alice = driver_for(hub_chain, live_server, eth=5 * ETH, tokens=20 * TOKEN)
    state = alice.deposit(amount_token=10 * TOKEN).channel
    assert state is not None and state["balanceTokenUser"] == str(10 * TOKEN)

    secret = secret_scan.register(alice.generate_secret())
    bought = alice.buy([{"recipient": ZERO, "amountToken": str(3 * TOKEN), "type": "PT_LINK",
                         "meta": {"secret": secret}}])
    assert bought.channel is not None and bought.channel["balanceTokenUser"] == str(7 * TOKEN)
    link = Link.objects.get()
    assert (link.status, link.amount, link.asset) == ("open", 3 * TOKEN, "token")

    bob = driver_for(hub_chain, live_server, eth=ETH)
    redeemed = bob.redeem(secret)
    assert redeemed.result["amount"] == {"amountWei": "0", "amountToken": str(3 * TOKEN)}
    assert redeemed.result["purchaseId"] == link.payment.purchase_id
    link.refresh_from_db()
    assert link.redeemer == bob.run("probe").result["user"].lower()

    balance = None
    for _ in range(8):  # each run starts the client, syncs, countersigns and settles
        channel = bob.state().channel
        balance = channel and channel["balanceTokenUser"]
        if balance == str(3 * TOKEN):
            break
    assert balance == str(3 * TOKEN)
    link.refresh_from_db()
    assert link.status == "redeemed"
    # bob had no channel: the redemption waited for the collateral it asked for
    from hub.channels.models import ChannelUpdate

    reasons = list(ChannelUpdate.objects.filter(channel__user=link.redeemer, invalid__isnull=True)
                   .order_by("tx_count_global").values_list("reason", flat=True))
    assert reasons == ["ProposePendingDeposit", "ConfirmPending", "Payment"]
    assert link.claimed_at is not None and link.completed_at is not None
    assert link.claimed_at < link.completed_at

    carol = driver_for(hub_chain, live_server, eth=ETH)
    second = carol.redeem(secret, check=False)
    assert not second.ok and "Payment has been redeemed." in (second.error or "")
    assert bob.redeem(secret, check=False).error.endswith("Payment has been redeemed.")

    assert secret_scan.scan_database([secret]) == []
    assert secret_scan.scan_logs([secret]) == []
