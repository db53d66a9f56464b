"""`client/` is an installable package: built and installed into a fresh virtual environment, it
imports from a directory outside the repository without the hub (its protocol rules are bundled
as `spoke_client._core`) and computes the same state hash and signature as the hub's `hub.core`.

Installs with the dev environment's uv (`./spoke` puts it in .venv) and its cache; `pip install
./client` builds the same wheel through the same build backend (client/README.md)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.core import channel_state_hash
from tests.client.factories import USER, USER_KEY, state

ROOT = Path(__file__).resolve().parents[2]

# Runs in the fresh environment with -I (no PYTHONPATH, no user site, no cwd on sys.path).
PROBE = """
import dataclasses, json, sys
import spoke_client
from spoke_client import UserKey
from spoke_client._core import ChannelState, assert_channel_signer, channel_state_hash
from spoke_client.chain import load_channel_manager_abi

fields = json.loads(sys.argv[1])
key = UserKey(fields.pop("_key"))
signed = key.sign_state(ChannelState(**fields))
assert_channel_signer(signed, hub_address="0x" + "00" * 20, signer="user")
abi = {entry.get("name") for entry in load_channel_manager_abi()}
print(json.dumps({
    "file": spoke_client.__file__,
    "hub_modules": sorted(m for m in sys.modules if m == "hub" or m.startswith("hub.")),
    "hash": channel_state_hash(signed),
    "sig_user": signed.sig_user,
    "abi": sorted(n for n in abi if n in ("startExitWithUpdate", "userAuthorizedUpdate")),
}))
"""


def _uv() -> Path:
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        pytest.fail(f"{uv} is missing: run the tests through ./spoke test, which installs it")
    return uv


def test_client_installs_into_a_fresh_venv_and_imports_outside_the_repo(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["UV_NO_PROGRESS"] = "1"
    install = subprocess.run(
        [str(_uv()), "pip", "install", "--refresh-package", "spoke-client", "--python", str(python),
         str(ROOT / "client")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )
    assert install.returncode == 0, install.stderr

    s = state(balance_wei_user=10**18, balance_token_hub=5 * 10**18, tx_count_global=7)
    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)} | {"_key": USER_KEY}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = subprocess.run(
        [str(python), "-I", "-c", PROBE, json.dumps(fields)],
        env=env, cwd=outside, capture_output=True, text=True, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    out = json.loads(probe.stdout)

    assert Path(out["file"]).is_relative_to(venv), out["file"]
    assert out["hub_modules"] == []  # the installed SDK needs nothing of the repository
    expected = USER.sign_state(s)
    assert out["hash"] == channel_state_hash(expected)
    assert out["sig_user"] == expected.sig_user
    assert out["abi"] == ["startExitWithUpdate", "userAuthorizedUpdate"]
