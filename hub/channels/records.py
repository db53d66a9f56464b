"""Reading and recording channel states: the primitives every channel write goes through.

Lock order: one channel row at a time here; callers that touch two channels (payments) lock the
lower channel id first. The hub signs a state only after the row that holds it is written in the
same transaction, so a state signed by the hub always exists in the history (persist, then
countersign)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from hub import push
from hub.chain.ingest import ingested_head_time
from hub.chain.market import latest_block_time
from hub.chain.signer import hub_address as configured
from hub.chain.signer import hub_state_signer
from hub.channels import errors
from hub.channels.errors import ChannelError, Conflict
from hub.channels.locks import channel_heads_write, channels_lock
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.core import (
    ChannelState,
    UpdateRejected,
    assert_channel_signer,
    channel_state_hash,
    zero_state,
)
from hub.core.state import AMOUNT_FIELDS
from hub.ledger.services import ledger_batch, post_channel_change
from ops.rows import new_row, rows_insert, rows_insert_later

logger = logging.getLogger(__name__)


def contract_address() -> str:
    address = settings.CHANNEL_MANAGER_ADDRESS
    if not address:
        raise ChannelError("contracts_not_deployed", "the ChannelManager is not deployed", status=503)
    return address.lower()


def hub_address() -> str:
    return configured().lower()


def channel_find(user: str) -> Channel | None:
    return Channel.objects.filter(contract=contract_address(), user=user.lower()).first()


def channel_state(channel: Channel | None, user: str) -> ChannelState:
    """The latest valid state the hub signed (state 0 for a channel without history)."""
    if channel is None or channel.latest_update_id is None:
        return zero_state(contract_address(), user.lower())
    # Callers that lock the channel load its latest update in the same query; but under READ
    # COMMITTED a row lock that waited re-reads the channel row and not the joined one, so the
    # joined update can be older than (or missing for) the id: then read it again.
    update = channel._state.fields_cache.get("latest_update")
    if update is None or update.pk != channel.latest_update_id:
        update = ChannelUpdate.objects.get(pk=channel.latest_update_id)
        channel.latest_update = update
    return update.to_state(channel.contract, channel.user)


def block_time() -> int:
    """The latest block's timestamp: the clock new timeouts are set and checked against (the
    contract compares a timeout with the block that executes it). Never used to decide that a
    timeout has passed: see `ingested_block_time`."""

    return latest_block_time()


def ingested_block_time(user: str | None = None) -> int:
    """The timestamp the hub judges passed timeouts by: the newest block whose events are
    ingested and handled. With CONFIRMATIONS > 0 the latest block runs ahead of the ingester, so
    a deposit mined before its timeout would otherwise be invalidated before its event is seen.
    With `user`, for that user's channel: events of other channels still waiting for their
    handler do not hold it back. 0 before anything was ingested: then no timeout has passed."""

    return ingested_head_time(contract_address(), user=user) or 0


def lock_channel(user: str) -> Channel:
    """The user's channel row, locked for this transaction (created when missing)."""
    user = user.lower()
    return channels_lock(contract_address(), [user])[user]


def require_open(channel: Channel) -> None:
    if channel.status != Channel.Status.OPEN:
        raise ChannelError(errors.CHANNEL_NOT_OPEN, f"the channel is {channel.status}", status=409)


@dataclass
class Recorded:
    update: ChannelUpdate
    state: ChannelState


def record_state(channel: Channel, prev: ChannelState, new: ChannelState, *, reason: str,
            args: Mapping[str, Any], originator: str, chain_transaction_id: int | None = None,
            chain_event_id: int | None = None) -> Recorded:
    """Sign `new` as the hub, store it, post the ledger and queue the push (after commit)."""

    state_hash = channel_state_hash(new)  # signatures are not hashed: hashed once, for both uses
    signed = new.replace(sig_hub=hub_state_signer().sign_hash(state_hash))
    row = new_row(
        ChannelUpdate, channel=channel, reason=reason, args=dict(args), originator=originator.lower(),
        recipient=signed.recipient, state_hash=state_hash,
        tx_count_global=signed.tx_count_global, tx_count_chain=signed.tx_count_chain,
        thread_root=signed.thread_root, thread_count=signed.thread_count, timeout=signed.timeout,
        sig_hub=signed.sig_hub or "", sig_user=signed.sig_user,
        user_signed_at=timezone.now() if signed.sig_user else None,
        chain_transaction_id=chain_transaction_id, chain_event_id=chain_event_id,
        **{field: getattr(signed, field) for field in _AMOUNT_ATTRS},
    )
    keys = getattr(channel, "reserved_keys", {}).get(ChannelUpdate)
    if keys:  # a key reserved with the lock: the row goes with the transaction's next statement
        row.pk = keys.pop(0)
        rows_insert_later([row])
    else:
        rows_insert([row])
    post_channel_change(channel_id=channel.pk, before=prev, after=signed,
                        memo=f"{reason} #{signed.tx_count_global}", channel_update_id=row.pk)
    channel.latest_update = row
    channel.push_sequence += 1
    dirty = getattr(_channel_batch, "channels", None)
    if dirty is not None:
        dirty[channel.pk] = channel
    else:
        channel_heads_write([channel])
    _push(channel, row)
    return Recorded(row, signed)


_channel_batch = threading.local()


@contextmanager
def channel_writes_batched() -> Iterator[None]:
    """Inside one transaction that records several states (a purchase): write the channels'
    new heads and the ledger postings once at the end, in one statement, instead of once per
    state."""

    if getattr(_channel_batch, "channels", None) is not None:
        yield
        return
    dirty: dict[int, Channel] = {}
    flushed: list[bool] = []

    def flush(rows: list[Any]) -> None:  # the heads and the postings in one statement
        channel_heads_write(dirty.values(), ledger_rows=rows)
        flushed.append(True)

    _channel_batch.channels = dirty
    try:
        with ledger_batch(flush=flush):
            yield
    finally:
        _channel_batch.channels = None
    if not flushed:  # inside an outer ledger batch, which writes the postings when it ends
        channel_heads_write(dirty.values())


def _push(channel: Channel, row: ChannelUpdate) -> None:
    push.push_channel_updates_on_commit(
        channel.user,
        [{**row.to_sync_item(), "type": "channel_update", "seq": channel.push_sequence}],
    )


def add_user_signature(channel: Channel, row: ChannelUpdate, sig_user: str | None) -> ChannelUpdate:
    """Countersign a hub-signed state. Adding is once; a different signature is refused."""
    if not sig_user:
        raise UpdateRejected("bad_signature", "missing user signature")
    if row.sig_user:
        if row.sig_user.lower() != sig_user.lower():
            raise Conflict(errors.SIGNATURE_CONFLICT,
                           f"update {row.tx_count_global} is already countersigned differently")
        return row
    state = row.to_state(channel.contract, channel.user).replace(sig_user=sig_user.lower())
    assert_channel_signer(state, hub_address=hub_address(), signer="user")
    updated = ChannelUpdate.objects.filter(pk=row.pk, sig_user__isnull=True).update(
        sig_user=sig_user.lower(), user_signed_at=timezone.now()
    )
    if not updated:
        raise Conflict(errors.SIGNATURE_CONFLICT, "the update was countersigned concurrently")
    row.refresh_from_db()
    channel.push_sequence += 1
    channel.save(update_fields=["push_sequence", "updated_at"])
    _push(channel, row)
    return row


# The amount columns of a channel state, as the pure core names them (hub/core/state.py).
_AMOUNT_ATTRS = tuple(attr for attr, _key in AMOUNT_FIELDS)


def supersede_proposals(channel: Channel) -> None:
    ProposedUpdate.objects.filter(channel=channel, status=ProposedUpdate.Status.OPEN).update(
        status=ProposedUpdate.Status.SUPERSEDED
    )


def open_proposal(channel: Channel) -> ProposedUpdate | None:
    proposal = ProposedUpdate.objects.filter(
        channel=channel, status=ProposedUpdate.Status.OPEN
    ).first()
    if proposal is not None and proposal.expires_at <= timezone.now():
        ProposedUpdate.objects.filter(pk=proposal.pk).update(status=ProposedUpdate.Status.EXPIRED)
        return None
    return proposal


STATUS_NAMES = {
    Channel.Status.OPEN: "CS_OPEN",
    Channel.Status.CHANNEL_DISPUTE: "CS_CHANNEL_DISPUTE",
    Channel.Status.THREAD_DISPUTE: "CS_THREAD_DISPUTE",
    Channel.Status.CHAIN_ERROR: "CS_CHAINSAW_ERROR",
}
