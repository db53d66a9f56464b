"""Where a wallet keeps its own copy of the channel: the latest double-signed state, the latest
one that can be taken to the contract, and what is needed to invalidate a pending withdrawal.

The wallet saves a record *before* it tells the hub anything that depends on it, so a crash never
leaves the user with less than the hub knows. Implementations must make `save` atomic.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from hub.core import ChannelState


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """One channel as the wallet knows it.

    state: the latest double-signed state (txCountGlobal 0 and unsigned for a new channel).
    reason, args: the update that produced `state`.
    exitable: the latest double-signed state with `timeout == 0` (what `startExitWithUpdate`
        accepts); usually `state` itself, older while a deposit/withdrawal is pending.
    last_thread_update_id: the thread cursor for sync (threads are not opened by the SDK).
    pending_withdrawal: the args of the pending ProposePendingWithdrawal, needed to invalidate it.
    """

    state: ChannelState
    reason: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    exitable: ChannelState | None = None
    last_thread_update_id: int = 0
    pending_withdrawal: Mapping[str, Any] | None = None

    def advance(self, state: ChannelState, reason: str, args: Mapping[str, Any]) -> ChannelRecord:
        """The record after `state` (double-signed) became the latest."""
        pending_withdrawal = self.pending_withdrawal
        if reason == "ProposePendingWithdrawal":
            pending_withdrawal = dict(args)
        elif not state.has_pending_ops:
            pending_withdrawal = None
        return replace(
            self,
            state=state,
            reason=reason,
            args=dict(args),
            exitable=state if state.timeout == 0 else self.exitable,
            pending_withdrawal=pending_withdrawal,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.to_json(),
            "reason": self.reason,
            "args": dict(self.args),
            "exitable": self.exitable.to_json() if self.exitable else None,
            "lastThreadUpdateId": self.last_thread_update_id,
            "pendingWithdrawal": dict(self.pending_withdrawal) if self.pending_withdrawal else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelRecord:
        exitable = data.get("exitable")
        return cls(
            state=ChannelState.from_json(data["state"]),
            reason=data.get("reason"),
            args=dict(data.get("args") or {}),
            exitable=ChannelState.from_json(exitable) if exitable else None,
            last_thread_update_id=int(data.get("lastThreadUpdateId") or 0),
            pending_withdrawal=data.get("pendingWithdrawal"),
        )


def record_key(contract_address: str, user: str) -> str:
    return f"{contract_address.lower()}:{user.lower()}"


class StateStore(Protocol):
    """Persistence for channel records, keyed by (contract, user)."""

    def load(self, contract_address: str, user: str) -> ChannelRecord | None: ...

    def save(self, record: ChannelRecord) -> None: ...


class MemoryStateStore:
    """For tests and short-lived processes: records live as long as the object."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    def load(self, contract_address: str, user: str) -> ChannelRecord | None:
        raw = self._records.get(record_key(contract_address, user))
        # round-trip through JSON so a stored record can never alias a live object
        return ChannelRecord.from_json(raw) if raw is not None else None

    def save(self, record: ChannelRecord) -> None:
        key = record_key(record.state.contract_address, record.state.user)
        self._records[key] = json.loads(json.dumps(record.to_json()))


class JsonFileStateStore:
    """Records in one JSON file, rewritten atomically (temp file, fsync, rename) on each save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path} does not hold a JSON object")
        return data

    def load(self, contract_address: str, user: str) -> ChannelRecord | None:
        with self._lock:
            raw = self._read_all().get(record_key(contract_address, user))
        return ChannelRecord.from_json(raw) if raw is not None else None

    def save(self, record: ChannelRecord) -> None:
        key = record_key(record.state.contract_address, record.state.user)
        with self._lock:
            data = self._read_all()
            data[key] = record.to_json()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=1, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
