"""The hub's models live in sub-packages by concept; Django finds them through this module."""

from __future__ import annotations

from hub.chain.models import *  # noqa: F403
from hub.channels.models import Channel, ChannelUpdate, DepositAuthorization, ProposedUpdate
from hub.checkout.models import CheckoutPayment
from hub.collateral.models import CollateralAssignment, CollateralProfile
from hub.disputes.models import ChannelDispute
from hub.ledger.models import LedgerEntry
from hub.liabilities.models import LiabilityLeaf, LiabilityRoot
from hub.rates.models import ExchangeRate, GasPrice, RateSource
from hub.threads.models import ThreadDispute, ThreadRecord, ThreadUpdate

__all__ = [
    "Channel",
    "ChannelDispute",
    "ChannelUpdate",
    "CheckoutPayment",
    "CollateralAssignment",
    "CollateralProfile",
    "DepositAuthorization",
    "ExchangeRate",
    "GasPrice",
    "LedgerEntry",
    "LiabilityLeaf",
    "LiabilityRoot",
    "ProposedUpdate",
    "RateSource",
    "ThreadDispute",
    "ThreadRecord",
    "ThreadUpdate",
]
