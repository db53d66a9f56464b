"""The SDK quick start of client/README.md, extracted verbatim and run against a live hub on
anvil with a fresh key: deposit, exchange at once, pay an invoice, pay a link, withdraw."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from payments.apikeys.services import api_key_create
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_create
from payments.merchants.services import merchant_create
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.e2e.test_connext_client_flows import chain_poller  # noqa: F401  (fixture)
from tests.hub.api.test_channel_flows import set_rate

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.deposit_collateral,
              pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "client" / "README.md"


def quick_start_code() -> str:
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_quick_start_runs_as_written_on_a_fresh_channel(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import Client

    set_rate("200")
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Quick shop", addresses=[shop_address], payout_address="")
    secret = api_key_create(merchant_id=merchant.pk, kind="secret", name="test").plaintext
    invoice = invoice_create(merchant_id=merchant.pk, amount=2 * TOKEN, asset="token")
    account = hub_chain.new_user(eth=ETH)
    monkeypatch.chdir(tmp_path)  # wallet.json lands here
    monkeypatch.setenv("SPOKE_KEY", "0x" + bytes(account.key).hex())
    monkeypatch.setenv("SPOKE_HUB", live_server.url + "/api/hub")
    monkeypatch.setenv("SPOKE_ETH", hub_chain.rpc_url)
    monkeypatch.setenv("SPOKE_INVOICE", f"{live_server.url}/pay/{invoice.public_id}")

    namespace: dict[str, Any] = {}
    exec(compile(quick_start_code(), str(README), "exec"), namespace)  # our own README, verbatim

    channel = namespace["channel"]
    assert channel.state.balance_wei_user == ETH // 10 - ETH // 20 - ETH // 100
    assert channel.state.balance_token_user == 10 * TOKEN - 2 * TOKEN - TOKEN
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID and invoice.amount_received == 2 * TOKEN
    seen = Client().get(f"/api/v1/invoices/{invoice.public_id}",
                        headers={"Authorization": f"Bearer {secret}"}).json()
    assert seen["status"] == "paid"
    public = Client().get(f"/api/v1/public/invoices/{invoice.public_id}").json()
    assert (public["payable"], public["amount_remaining"]) == (False, "0")
