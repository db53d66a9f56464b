"""Exceptions raised by the SDK. Every hub error keeps the hub's stable machine-readable `code`."""

from __future__ import annotations

from typing import Any


class SpokeError(Exception):
    """Base class of every error the SDK raises on purpose."""


class HubError(SpokeError):
    """The hub answered with a non-2xx status. `code` is the hub's stable error code (or
    `http_<status>` when the body carried none); `body` is the parsed JSON body or the raw text."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        super().__init__(f"{status} {code}: {message}")


class AuthError(HubError):
    """Authentication failed even after a fresh nonce handshake (403 twice)."""


class NotFound(HubError):
    """404: the channel, purchase or update does not exist (yet)."""


class HubUnavailable(SpokeError):
    """The hub could not be reached (connection error or timeout)."""


class ProposalRejected(SpokeError):
    """The wallet refused to countersign a hub proposal. `code` is either a `hub.core` reject code
    (the proposal is not a valid transition) or a policy code (`policy_*`)."""

    def __init__(self, code: str, message: str, *, reason: str | None = None) -> None:
        self.code = code
        self.message = message
        self.reason = reason
        super().__init__(f"{code}: {message}")


class ChainError(SpokeError):
    """An on-chain call reverted, or the chain is needed but not configured."""


class NoExitableState(SpokeError):
    """There is no double-signed state with `timeout == 0` to take to the contract."""


class WebhookVerificationError(SpokeError):
    """A webhook's `Spoke-Signature` header is missing, malformed, stale or does not match."""
