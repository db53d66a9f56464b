"""Refusals of the link services, each with a stable code. The protocol API renders them as
`{"error", "code", "message"}`; the merchant API maps them to payments.errors codes."""

from __future__ import annotations

from hub.channels.errors import ChannelError

# The Connext client looks for exactly this text (Hub.redeem); kept for compatibility.
REDEEMED_MESSAGE = "Payment has been redeemed."
CANCELLED_MESSAGE = "Payment has been cancelled."
EXPIRED_MESSAGE = "Payment has expired."


class LinkError(ChannelError):
    """A link refusal. Messages never contain a secret."""


def link_not_found() -> LinkError:
    return LinkError("link_not_found", "no link has this secret", status=404)


def link_redeemed() -> LinkError:
    return LinkError("link_redeemed", REDEEMED_MESSAGE, status=400)


def link_cancelled() -> LinkError:
    return LinkError("link_cancelled", CANCELLED_MESSAGE, status=410)


def link_expired() -> LinkError:
    return LinkError("link_expired", EXPIRED_MESSAGE, status=410)


class LinkRateLimited(LinkError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate_limited", "too many failed redemption attempts; try again later",
                         status=429)
        self.retry_after = retry_after
