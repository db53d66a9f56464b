"""Compiled contract artifacts: contracts/build/<Name>.json, written by `node contracts/build.js`.

The artifacts are committed, so nothing here runs the compiler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

BUILD_DIR = Path(__file__).resolve().parent.parent.parent / "contracts" / "build"


class ArtifactNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed creation code
    deployed_bytecode: str  # 0x-prefixed runtime code
    compiler: str
    source_hash: str


@lru_cache(maxsize=32)
def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> Artifact:
    """The artifact of contract `name` (e.g. "ChannelManager", "SpokeTestToken")."""
    if not name.isidentifier():
        raise ArtifactNotFound(f"not a contract name: {name!r}")
    path = build_dir / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactNotFound(f"no artifact {path}; run `node contracts/build.js`") from None
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler=data["compiler"],
        source_hash=data["sourceHash"],
    )


def load_abi(name: str) -> list[dict[str, Any]]:
    return load_artifact(name).abi
