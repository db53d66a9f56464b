"""The operator's kill switch reaches the Checkout contract: with payments switched off
(`ops.GlobalSwitches.payments_enabled`) the contract is paused on chain, so that no wallet can
pay an intent it was given before; switched on again, it is unpaused.

`checkout_pause_sync` compares what the switch wants with what the contract will be once the
hub's open pause/unpause transaction (if any) is mined, and enqueues the one call that closes
the gap through the transaction outbox. It is idempotent (the key names the action and the
switches' save) and runs when the switches are saved (ops.services.on_switches_changed, after
commit) and periodically (actor `checkout_pause_sync`), so a lost message or a failed
transaction is made good."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from web3 import Web3

from hub.chain.artifacts import load_abi
from hub.chain.client import get_web3
from hub.chain.models import ChainTransaction
from hub.chain.outbox import transaction_enqueue
from ops import jobs
from ops.models import GlobalSwitches

logger = logging.getLogger(__name__)

PAUSE, UNPAUSE = "checkout_pause", "checkout_unpause"
OPEN = (ChainTransaction.State.NEW, ChainTransaction.State.SUBMITTED)


def checkout_paused_on_chain() -> bool | None:
    """The contract's `paused()`, or None when no Checkout is configured."""
    address = settings.CHECKOUT_ADDRESS
    if not address:
        return None
    w3 = get_web3()
    contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_abi("Checkout"))
    return bool(contract.functions.paused().call())


def _open_pause_transaction(address: str) -> ChainTransaction | None:
    return (ChainTransaction.objects.filter(purpose__in=[PAUSE, UNPAUSE], to=address.lower(),
                                            state__in=OPEN).order_by("-pk").first())


def checkout_pause_sync() -> ChainTransaction | None:
    """Enqueue `pause()` or `unpause()` when the contract is not (or will not be, once the open
    transaction is mined) what the payments switch wants. Returns the enqueued row, else None."""
    address = settings.CHECKOUT_ADDRESS
    if not address:
        return None
    switches = GlobalSwitches.current()
    want_paused = not switches.payments_enabled
    in_flight = _open_pause_transaction(address)
    will_be_paused = (in_flight.purpose == PAUSE) if in_flight is not None else checkout_paused_on_chain()
    if will_be_paused == want_paused:
        return None
    purpose = PAUSE if want_paused else UNPAUSE
    stamp = switches.updated_at.isoformat()
    failed = ChainTransaction.objects.filter(
        purpose=purpose, to=address.lower(), state=ChainTransaction.State.FAILED,
        idempotency_key__startswith=f"{purpose}:{address.lower()}:{stamp}").count()
    data = Web3().eth.contract(abi=load_abi("Checkout")).encode_abi("pause" if want_paused else "unpause")
    with transaction.atomic():
        tx = transaction_enqueue(purpose=purpose, to=address, data=data,
                                 idempotency_key=f"{purpose}:{address.lower()}:{stamp}:{failed}")
    logger.info("Checkout %s: %s enqueued (transaction %s)", address, purpose, tx.pk)
    return tx


def on_switches_saved(switches: GlobalSwitches) -> None:
    """ops.services.on_switches_changed listener: sync the contract once the save commits."""
    transaction.on_commit(lambda: jobs.send("checkout_pause_sync"))
