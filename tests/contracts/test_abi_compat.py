"""The contract keeps the original Connext v1 interface, and the committed artifacts are fresh."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_utils import event_signature_to_log_topic, function_signature_to_4byte_selector

from hub.chain.artifacts import ArtifactNotFound, load_abi, load_artifact

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL_ABI = ROOT / "node_modules" / "connext" / "dist" / "contract" / "ChannelManagerAbi.json"


def _canonical_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return item["type"]


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_canonical_type(i) for i in entry['inputs'])})"


def _by_selector(abi: list[dict[str, Any]]) -> dict[bytes, dict[str, Any]]:
    out = {}
    for entry in abi:
        if entry["type"] == "function":
            out[function_signature_to_4byte_selector(_signature(entry))] = entry
        elif entry["type"] == "event":
            out[event_signature_to_log_topic(_signature(entry))] = entry
    return out


@pytest.fixture(scope="module")
def original() -> dict[bytes, dict[str, Any]]:
    return _by_selector(json.loads(ORIGINAL_ABI.read_text())["abi"])


@pytest.fixture(scope="module")
def ours() -> dict[bytes, dict[str, Any]]:
    return _by_selector(load_abi("ChannelManager"))


def test_original_abi_is_the_full_v1_interface(original: dict[bytes, dict[str, Any]]) -> None:
    names = {e["name"] for e in original.values()}
    assert {"hubAuthorizedUpdate", "userAuthorizedUpdate", "startExitThreadWithUpdate",
            "nukeThreads", "DidUpdateChannel", "DidNukeThreads"} <= names
    assert len([e for e in original.values() if e["type"] == "event"]) == 8


def test_every_original_function_and_event_exists_with_the_same_inputs(
    original: dict[bytes, dict[str, Any]], ours: dict[bytes, dict[str, Any]]
) -> None:
    missing = [_signature(e) for key, e in original.items() if key not in ours]
    assert missing == []
    for key, theirs in original.items():
        mine = ours[key]
        assert mine["type"] == theirs["type"]
        assert [(i["name"], i["type"], i.get("indexed")) for i in mine["inputs"]] == [
            (i["name"], i["type"], i.get("indexed")) for i in theirs["inputs"]
        ], _signature(theirs)


def test_functions_keep_outputs_and_mutability(
    original: dict[bytes, dict[str, Any]], ours: dict[bytes, dict[str, Any]]
) -> None:
    for key, theirs in original.items():
        if theirs["type"] != "function":
            continue
        mine = ours[key]
        assert [o["type"] for o in mine["outputs"]] == [o["type"] for o in theirs["outputs"]], theirs["name"]
        assert [o["name"] for o in mine["outputs"]] == [o["name"] for o in theirs["outputs"]], theirs["name"]
        theirs_mut = theirs.get("stateMutability") or ("payable" if theirs.get("payable") else "nonpayable")
        assert mine["stateMutability"] == theirs_mut, theirs["name"]


def test_contract_accepts_plain_eth_transfers() -> None:
    abi = load_abi("ChannelManager")
    assert any(e["type"] == "receive" for e in abi)
    constructor = next(e for e in abi if e["type"] == "constructor")
    assert [(i["name"], i["type"]) for i in constructor["inputs"]] == [
        ("_hub", "address"), ("_challengePeriod", "uint256"), ("_tokenAddress", "address")]


def test_artifacts_carry_bytecode_and_provenance() -> None:
    for name in ("ChannelManager", "SpokeTestToken", "ReentrantToken", "ReentrantReceiver",
                 "RevertingReceiver", "NoReturnToken", "FeeOnTransferToken"):
        artifact = load_artifact(name)
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 100
        assert artifact.deployed_bytecode.startswith("0x")
        assert artifact.compiler.startswith("0.8.37+")
        assert len(artifact.source_hash) == 64
    raw = json.loads((ROOT / "contracts" / "build" / "ChannelManager.json").read_text())
    assert raw["settings"]["evmVersion"] == "cancun"
    assert raw["settings"]["optimizer"] == {"enabled": True, "runs": 200}


def test_unknown_artifact_is_an_error() -> None:
    with pytest.raises(ArtifactNotFound):
        load_artifact("NoSuchContract")
    with pytest.raises(ArtifactNotFound):
        load_artifact("../ChannelManager")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_committed_artifacts_are_fresh() -> None:
    result = subprocess.run(
        ["node", "contracts/build.js", "--check"], cwd=ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
