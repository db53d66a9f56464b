"""State stores keep the latest double-signed state, the exitable one and pending withdrawal args."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spoke_client import ChannelRecord, JsonFileStateStore, MemoryStateStore

from .factories import CONTRACT, E18, NOW, OTHER, USER, double_signed, funded, state


def pending_record() -> ChannelRecord:
    exitable = funded()
    pending = double_signed(state(tx_count_global=6, tx_count_chain=2, balance_wei_hub=2 * E18,
                                  balance_wei_user=E18 // 2, pending_withdrawal_wei_user=E18 // 2,
                                  timeout=NOW + 300))
    record = ChannelRecord(state=exitable, exitable=exitable, last_thread_update_id=3)
    return record.advance(pending, "ProposePendingWithdrawal", {"recipient": USER.address, "timeout": NOW + 300})


@pytest.mark.parametrize("make", [lambda p: MemoryStateStore(), lambda p: JsonFileStateStore(p / "w.json")])
def test_a_record_round_trips_with_signatures_and_exitable_state(make, tmp_path: Path) -> None:
    store = make(tmp_path)
    record = pending_record()
    store.save(record)
    loaded = store.load(CONTRACT, USER.address)
    assert loaded == record
    assert loaded is not None
    assert loaded.state.sig_user == record.state.sig_user and loaded.state.sig_hub is not None
    assert loaded.exitable is not None and loaded.exitable.tx_count_global == 5
    assert loaded.pending_withdrawal == {"recipient": USER.address, "timeout": NOW + 300}
    assert loaded.last_thread_update_id == 3


def test_advancing_to_a_timeout_free_state_moves_the_exitable_state_and_clears_the_withdrawal() -> None:
    record = pending_record()
    confirmed = double_signed(state(tx_count_global=7, tx_count_chain=2, balance_wei_hub=2 * E18,
                                    balance_wei_user=E18 // 2))
    after = record.advance(confirmed, "ConfirmPending", {"transactionHash": "0x" + "ab" * 32})
    assert after.exitable == confirmed
    assert after.pending_withdrawal is None


def test_the_file_store_keeps_channels_of_different_users_apart(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path / "wallet.json")
    store.save(pending_record())
    assert store.load(CONTRACT, OTHER.address) is None
    assert store.load("0x" + "dd" * 20, USER.address) is None
    on_disk = json.loads((tmp_path / "wallet.json").read_text())
    assert list(on_disk) == [f"{CONTRACT}:{USER.address}"]
    assert on_disk[f"{CONTRACT}:{USER.address}"]["state"]["txCountGlobal"] == 6
    assert [p.name for p in tmp_path.iterdir()] == ["wallet.json"]  # no temp files left


def test_the_memory_store_returns_copies_not_live_objects() -> None:
    store = MemoryStateStore()
    record = pending_record()
    store.save(record)
    assert store.load(CONTRACT, USER.address) is not record
