"""A block with many events of several kinds for several channels, handled set-based (each run
of DidUpdateChannel events by the batch handler), leaves exactly the state that handling its
events one by one leaves: the same channels, states and signatures, ledger postings, disputes,
queued transactions and event records. On the session anvil, with automine off for one block."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
from django.db import models, transaction
from eth_account import Account
from web3 import Web3

from hub.chain.artifacts import load_abi
from hub.chain.ingest import _decoders, _jsonable, events_dispatch, events_ingest
from hub.chain.models import ChainCursor, ChainEvent, ChainTransaction
from hub.channels.events import on_did_update_channels
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.proposals import channel_request_deposit
from hub.core import Signer
from hub.disputes.models import ChannelDispute
from hub.ledger.models import LedgerEntry
from ops.rows import UNNEST_FROM
from tests.chain_env import ChainEnv

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

USERS = 12
EXITING = (1, 4, 5, 9)  # these users also start an exit, right after their deposit, in the same block

# how a row that another row points to is named in a snapshot (primary keys differ between runs)
NATURAL_KEYS: dict[type[models.Model], Any] = {
    Channel: lambda c: c.user,
    ChannelUpdate: lambda u: (u.channel.user, u.tx_count_global),
    ChainEvent: lambda e: (e.tx_hash, e.log_index),
    ChainTransaction: lambda t: (t.purpose, t.data),
}
# fields that differ between two runs whatever the handlers do: keys and times
SKIPPED = {ChainTransaction: {"idempotency_key"}}


def snapshot() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for model in (Channel, ChannelUpdate, LedgerEntry, ChainEvent, ChannelDispute, ChainTransaction):
        rows = []
        for obj in model.objects.all():
            row = []
            for f in model._meta.concrete_fields:
                if (f.primary_key or isinstance(f, models.DateTimeField | models.UUIDField)
                        or f.name in SKIPPED.get(model, ())):
                    continue
                if f.is_relation:
                    target = getattr(obj, f.name)
                    row.append((f.name, None if target is None else NATURAL_KEYS[f.related_model](target)))
                else:
                    row.append((f.name, getattr(obj, f.name)))
            rows.append(tuple(row))
        out[model.__name__] = sorted(rows, key=repr)
    return out


class Reference(Exception):
    pass


def one_block(env: ChainEnv) -> int:
    """USERS deposits authorised by the hub, and EXITING exits, all mined in one block."""
    w3 = env.w3
    contract = w3.eth.contract(address=Web3.to_checksum_address(env.deployment.channel_manager),
                               abi=load_abi("ChannelManager"))
    from spoke_client.chain import user_authorized_update_args

    users = [Account.create() for _ in range(USERS)]
    w3.provider.make_batch_request([  # type: ignore[attr-defined]
        ("anvil_setBalance", [u.address, hex(10**18)]) for u in users])
    gas_price = int(w3.eth.gas_price) * 2
    raw = []
    for n, user in enumerate(users):
        wei = 10**15 * (n + 1)
        state = channel_request_deposit(
            user=user.address.lower(), deposit_wei=str(wei), deposit_token="0",
            sig_user=Signer(bytes(user.key)).sign_deposit_request(0, wei)).state
        txs = [contract.functions.userAuthorizedUpdate(*user_authorized_update_args(state)).build_transaction(
            {"from": user.address, "nonce": 0, "gas": 400_000, "gasPrice": gas_price, "chainId": 31337,
             "value": wei})]
        if n in EXITING:
            txs.append(contract.functions.startExit(user.address).build_transaction(
                {"from": user.address, "nonce": 1, "gas": 400_000, "gasPrice": gas_price, "chainId": 31337}))
        raw += ["0x" + bytes(user.sign_transaction(tx).raw_transaction).hex() for tx in txs]
    rpc = w3.provider.make_request  # type: ignore[attr-defined]
    rpc("evm_setAutomine", [False])
    try:
        answers = w3.provider.make_batch_request(  # type: ignore[attr-defined]
            [("eth_sendRawTransaction", [r]) for r in raw])
        assert not [a for a in answers if "error" in a], answers
        rpc("evm_mine", [])
    finally:
        rpc("evm_setAutomine", [True])
    return int(w3.eth.block_number)


def test_a_block_of_many_events_handled_set_based_equals_handling_them_one_by_one(
    hub_chain: ChainEnv, caplog: pytest.LogCaptureFixture,
) -> None:
    address = hub_chain.deployment.channel_manager
    # ingestion starts here: the session chain's earlier blocks belong to other tests
    ChainCursor.objects.create(contract=address.lower(), block_number=hub_chain.w3.eth.block_number)
    block = one_block(hub_chain)
    assert events_ingest(address=address, abi=load_abi("ChannelManager")).caught_up
    events = list(ChainEvent.objects.order_by("log_index"))
    assert {e.block_number for e in events} == {block}
    names = [e.name for e in events]
    assert names.count("DidUpdateChannel") == USERS and names.count("DidStartExitChannel") == len(EXITING)
    # read word by word, as web3 reads them
    decoders = _decoders(address, load_abi("ChannelManager"))
    stored = {(e.tx_hash, e.log_index): e.args for e in events}
    for log in hub_chain.w3.eth.get_logs({"address": Web3.to_checksum_address(address),
                                          "fromBlock": block, "toBlock": block}):
        event, types, fast = decoders["0x" + bytes(log["topics"][0]).hex()]
        assert fast is not None
        assert stored["0x" + bytes(log["transactionHash"]).hex(), log["logIndex"]] == {
            k: _jsonable(v, types[k]) for k, v in event.process_log(log)["args"].items()}
    # the kinds are interleaved: several runs of DidUpdateChannel for the batch handler, one long
    # enough for its states to be inserted column-wise (ops/rows.py: UNNEST_FROM)
    assert "DidUpdateChannel" in names[names.index("DidStartExitChannel"):]
    runs = [len(list(run)) for name, run in itertools.groupby(names) if name == "DidUpdateChannel"]
    assert max(runs) >= UNNEST_FROM

    with pytest.raises(Reference), transaction.atomic():  # the reference, then undone
        result = events_dispatch(batched=False)
        assert (result.processed, result.failed) == (len(events), 0)
        one_by_one = snapshot()
        raise Reference

    with caplog.at_level(logging.INFO, logger="hub.chain.ingest"):
        result = events_dispatch()
    assert (result.processed, result.failed) == (len(events), 0)
    assert "handling them one by one" not in caplog.text  # the batch form did the work
    assert snapshot() == one_by_one

    assert ChannelUpdate.objects.filter(reason="ConfirmPending").count() == USERS
    assert ChannelDispute.objects.count() == len(EXITING)
    # a channel's states keep ascending ids in a batch too
    for channel in Channel.objects.all():
        ids = list(ChannelUpdate.objects.filter(channel=channel).order_by("tx_count_global")
                   .values_list("pk", flat=True))
        assert ids == sorted(ids)
    # handled again (a replay), the batch finds nothing pending and writes nothing
    before = snapshot()
    with transaction.atomic():
        on_did_update_channels([e for e in ChainEvent.objects.order_by("log_index") if e.name == "DidUpdateChannel"])
    assert snapshot() == before
