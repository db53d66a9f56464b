"""The Card's chain relay (/card/rpc) passes a wallet's own calls to the node and nothing that
would act with the node's accounts; bad requests get a JSON-RPC error, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from eth_account import Account

from tests.chain_env import ETH, ChainEnv


def call(client: Client, method: str, params: list[Any] | None = None) -> Any:
    return client.post("/card/rpc", json.dumps({"jsonrpc": "2.0", "id": 7, "method": method,
                                                "params": params or []}), content_type="application/json")


@pytest.mark.chain
def test_reads_and_a_signed_transaction_go_through(hub_chain: ChainEnv) -> None:
    client = Client()
    sender = hub_chain.new_user(eth=ETH)
    balance = call(client, "eth_getBalance", [sender.address, "latest"])
    assert balance.status_code == 200 and int(balance.json()["result"], 16) == ETH
    assert int(call(client, "eth_chainId").json()["result"], 16) == hub_chain.w3.eth.chain_id
    to = Account.create().address
    signed = sender.sign_transaction({"to": to, "value": 1234, "gas": 21000, "gasPrice": hub_chain.w3.eth.gas_price,
                                      "nonce": 0, "chainId": hub_chain.w3.eth.chain_id})
    sent = call(client, "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    assert sent.status_code == 200, sent.json()
    assert hub_chain.w3.eth.get_balance(to) == 1234


@pytest.mark.chain
def test_nothing_that_uses_the_nodes_accounts_is_relayed(hub_chain: ChainEnv) -> None:
    client = Client()
    node_account = hub_chain.w3.eth.accounts[0]
    for method, params in (("eth_sendTransaction", [{"from": node_account, "to": node_account, "value": "0x1"}]),
                           ("eth_accounts", []), ("personal_sign", ["0x00", node_account]), ("anvil_setBalance", [])):
        response = call(client, method, params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32601


def test_malformed_requests_are_refused_with_a_json_rpc_error() -> None:
    client = Client()
    for body in (b"not json", b"[1, 2]", b'{"method": 5}', json.dumps({"method": "eth_call", "params": {"a": 1}}).encode(),
                 b'{"a":' * 5000 + b"1" + b"}" * 5000, b"\xff\xfe"):
        response = client.post("/card/rpc", body, content_type="application/json")
        assert response.status_code == 400 and "error" in response.json()
    assert client.get("/card/rpc").status_code == 405
    assert client.post("/card/rpc", b"x" * 70_000, content_type="application/json").status_code == 413
