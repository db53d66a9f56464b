"""The Checkout contract in /healthz (registered in hub/apps.py): deployed at the configured
address, its operator the hub key (else no intent the hub signs would verify), and paused
exactly when payments are switched off (or on its way there: a pause/unpause transaction open)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from web3 import Web3

from hub.chain.artifacts import load_abi
from hub.chain.client import get_web3
from hub.chain.signer import hub_address
from hub.checkout.pause import PAUSE, _open_pause_transaction
from ops.health import Check
from ops.models import GlobalSwitches


def _checkout_check() -> Check:
    address = settings.CHECKOUT_ADDRESS
    if not address:
        return True, {"configured": False}
    w3 = get_web3(2.0)
    checksum = Web3.to_checksum_address(address)
    if not w3.eth.get_code(checksum):
        return False, {"address": address, "deployed": False}
    contract = w3.eth.contract(address=checksum, abi=load_abi("Checkout"))
    operator_ok = contract.functions.operator().call().lower() == hub_address().lower()
    paused = bool(contract.functions.paused().call())
    payments_enabled = GlobalSwitches.current().payments_enabled
    in_flight = _open_pause_transaction(address)
    will_be_paused = (in_flight.purpose == PAUSE) if in_flight is not None else paused
    detail: dict[str, Any] = {"address": address, "deployed": True, "operator_ok": operator_ok,
                              "paused": paused, "payments_enabled": payments_enabled}
    return operator_ok and will_be_paused == (not payments_enabled), detail


def checkout_checks() -> dict[str, Check]:
    try:
        return {"checkout": _checkout_check()}
    except Exception as exc:
        return {"checkout": (False, {"error": type(exc).__name__})}
