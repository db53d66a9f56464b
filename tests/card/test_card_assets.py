"""The Card's vendored scripts are what node/build-card.js builds from the packages package.json
pins (no CDN, no hand-edited copies), and the page loads them from our own origin."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "static" / "card" / "vendor"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def test_the_committed_vendor_files_are_what_the_build_makes_from_package_json() -> None:
    script = ("const {build} = require('./node/build-card.js');"
              "process.stdout.write(JSON.stringify(build()))")
    built = json.loads(subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, check=True,
                                      timeout=60).stdout)
    assert sorted(built) == sorted(p.name for p in VENDOR.iterdir())
    for name, text in built.items():
        assert (VENDOR / name).read_text(encoding="utf-8") == text, f"rebuild with node node/build-card.js: {name}"
    pins = json.loads((REPO / "package.json").read_text())["dependencies"]
    for name, package in (("ethers.min.js", "ethers"), ("qrcode.js", "qrcode-generator"), ("jsQR.js", "jsqr")):
        assert built[name].startswith(f"/*! {package}@{pins[package]} ")


def test_the_page_loads_only_our_own_scripts(client: object) -> None:
    from django.test import Client

    assert isinstance(client, Client)
    response = client.get("/card/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = [line for line in html.splitlines() if "<script" in line]
    assert scripts and all('src="/static/card/' in line for line in scripts)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "default-src 'none'" in policy
