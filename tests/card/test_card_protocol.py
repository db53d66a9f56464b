"""The Card's protocol module (static/card/protocol.js, run in node by tests/card/card_vectors.js)
computes the same state hashes, deposit hashes, signatures, conversions and generated states as
hub/core (which the Python SDK uses), over the golden-vector strategies of tests/hub/core; its
recovery phrases give the key eth-account derives from them (m/44'/60'/0'/0/0)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hub.core import (
    ChannelState,
    Signer,
    channel_state_hash,
    deposit_request_hash,
    token_to_wei,
    wei_to_token,
)

REPO = Path(__file__).resolve().parents[2]
CARD_VECTORS = Path(__file__).with_name("card_vectors.js")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def _core_module(name: str) -> Any:
    """tests/hub/core's strategies and cases (that folder is not a package)."""
    path = REPO / "tests" / "hub" / "core" / f"{name}.py"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cf = _core_module("core_factories")
golden = _core_module("test_core_golden_vectors")

BATCH = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def run_card(request: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(["node", str(CARD_VECTORS)], input=json.dumps(request).encode(), cwd=REPO,
                          capture_output=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@BATCH
@given(
    channels=st.lists(cf.channel_states(), min_size=25, max_size=25),
    deposits=st.lists(st.tuples(st.integers(0, 2**256 - 1), st.integers(0, 2**256 - 1)), min_size=5, max_size=5),
)
def test_state_and_deposit_hashes_match_hub_core(channels: list[ChannelState],
                                                 deposits: list[tuple[int, int]]) -> None:
    got = run_card({
        "channels": [c.to_json(with_sigs=False) for c in channels],
        "deposits": [{"amountToken": str(t), "amountWei": str(w)} for t, w in deposits],
    })
    assert got["channelHashes"] == [channel_state_hash(c) for c in channels]
    assert got["depositHashes"] == [deposit_request_hash(t, w) for t, w in deposits]


@BATCH
@given(
    keys=st.lists(st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**255),
                  min_size=8, max_size=8),
    hashes=st.lists(st.binary(min_size=32, max_size=32), min_size=8, max_size=8),
)
def test_signatures_and_recovery_match_hub_core(keys: list[bytes], hashes: list[bytes]) -> None:
    request = [{"key": "0x" + k.hex(), "hash": "0x" + h.hex()} for k, h in zip(keys, hashes, strict=True)]
    expected = [Signer(r["key"]).sign_hash(r["hash"]) for r in request]
    got = run_card({"sign": request,
                    "recover": [{"hash": r["hash"], "sig": s} for r, s in zip(request, expected, strict=True)]})
    assert got["signatures"] == expected
    assert got["recovered"] == [Signer(r["key"]).address for r in request]


def test_nonce_signatures_match_the_sdk() -> None:
    from spoke_client.keys import UserKey

    key = "0x" + "42" * 32
    nonces = ["0x" + "ab" * 16, "plain-text nonce", "0x"]
    got = run_card({"nonces": [{"key": key, "nonce": n} for n in nonces]})
    assert got["nonceSignatures"] == [UserKey(key).sign_message(n) for n in nonces]


@BATCH
@given(st.lists(st.tuples(st.integers(-(10**30), 10**30), cf.rates), min_size=40, max_size=40))
def test_conversions_truncate_like_hub_core(pairs: list[tuple[int, str]]) -> None:
    got = run_card({"conversions": [{"amount": str(a), "rate": r} for a, r in pairs]})
    assert got["conversions"] == [
        {"tokenToWei": str(token_to_wei(a, r)), "weiToToken": str(wei_to_token(a, r))} for a, r in pairs
    ]


@BATCH
@given(st.lists(golden.generator_cases(), min_size=60, max_size=60))
def test_generated_states_equal_hub_core(cases: list[tuple[str, ChannelState, Any]]) -> None:
    request = [
        {"reason": reason, "prev": prev.to_json(),
         "args": args.to_json() if args is not None else {"transactionHash": "0x" + "00" * 32}}
        for reason, prev, args in cases
    ]
    got = run_card({"generate": request})["generated"]
    for (reason, prev, args), answer in zip(cases, got, strict=True):
        assert "error" not in answer, (reason, answer)
        ours = golden._python_generate(reason, prev, args).to_json(with_sigs=False)
        assert ours == answer["state"], reason


def test_a_recovery_phrase_gives_the_key_eth_account_derives() -> None:
    Account.enable_unaudited_hdwallet_features()
    phrases = [Account.create_with_mnemonic()[1] for _ in range(3)]
    got = run_card({"mnemonics": phrases})["mnemonics"]
    for phrase, answer in zip(phrases, got, strict=True):
        account = Account.from_mnemonic(phrase)
        assert answer == {"address": account.address.lower(), "privateKey": "0x" + bytes(account.key).hex()}
