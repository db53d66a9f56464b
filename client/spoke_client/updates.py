"""The hub's sync shape (docs/protocol.md §3 "Sync"), parsed into typed objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.core import UpdateRejected, coerce_args
from hub.core.args import UpdateArgs
from hub.core.state import parse_optional_sig


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    """One `{type:'channel', update:{reason, args, txCount, sigHub, sigUser, createdOn, id}}`.

    An unsigned hub proposal has no `sigHub`, `tx_count` None (or not yet assigned) and a negative
    `id`; it always comes last in a sync."""

    reason: str
    args: Mapping[str, Any]
    tx_count: int | None
    sig_hub: str | None = None
    sig_user: str | None = None
    created_on: str | None = None
    id: int | None = None

    @property
    def is_unsigned_proposal(self) -> bool:
        return self.sig_hub is None and self.sig_user is None

    @property
    def is_double_signed(self) -> bool:
        return self.sig_hub is not None and self.sig_user is not None

    def typed_args(self) -> UpdateArgs:
        """The args parsed strictly by hub.core (raises UpdateRejected on malformed input)."""
        return coerce_args(self.reason, self.args)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelUpdate:
        if not isinstance(data, Mapping) or not isinstance(data.get("reason"), str):
            raise UpdateRejected("bad_args", f"not a channel update: {data!r}")
        tx_count = data.get("txCount")
        if tx_count is not None and (not isinstance(tx_count, int) or isinstance(tx_count, bool)):
            try:
                tx_count = int(tx_count)
            except (TypeError, ValueError):
                raise UpdateRejected("bad_args", f"txCount is not a number: {tx_count!r}") from None
        raw_id = data.get("id")
        return cls(
            reason=data["reason"],
            args=dict(data.get("args") or {}),
            tx_count=tx_count if tx_count and tx_count > 0 else None,
            sig_hub=parse_optional_sig(data.get("sigHub"), "sigHub"),
            sig_user=parse_optional_sig(data.get("sigUser"), "sigUser"),
            created_on=data.get("createdOn"),
            id=int(raw_id) if isinstance(raw_id, int | str) and str(raw_id).lstrip("-").isdigit() else None,
        )

    def to_request(self, *, tx_count: int, sig_user: str, sig_hub: str | None) -> dict[str, Any]:
        """The `UpdateRequest` the client posts to `channel/:user/update`."""
        out: dict[str, Any] = {
            "reason": self.reason,
            "args": dict(self.args),
            "txCount": tx_count,
            "sigUser": sig_user,
        }
        if sig_hub is not None:
            out["sigHub"] = sig_hub
        if self.id is not None:
            out["id"] = self.id
        if self.created_on is not None:
            out["createdOn"] = self.created_on
        return out


@dataclass(frozen=True, slots=True)
class Sync:
    """`{status, updates}`; thread updates are kept raw (the SDK does not open threads)."""

    status: str
    channel_updates: list[ChannelUpdate] = field(default_factory=list)
    thread_updates: list[Mapping[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> Sync:
        if data is None:
            return cls(status="CS_OPEN")
        if not isinstance(data, Mapping):
            raise UpdateRejected("bad_args", f"not a sync result: {data!r}")
        channel: list[ChannelUpdate] = []
        threads: list[Mapping[str, Any]] = []
        for item in data.get("updates") or []:
            if isinstance(item, Mapping) and item.get("type") == "thread":
                threads.append(item.get("update") or {})
            elif isinstance(item, Mapping):
                channel.append(ChannelUpdate.from_json(item.get("update") or {}))
        return cls(status=str(data.get("status") or "CS_OPEN"), channel_updates=channel,
                   thread_updates=threads)
