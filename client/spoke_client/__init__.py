"""Spoke's Python client SDK: the user side of the Connext v1 channel protocol.

    from spoke_client import Channel, HubClient, UserKey, JsonFileStateStore, ChannelManagerClient

    key = UserKey("0x...")
    hub = HubClient("http://localhost:8000/api/hub", key)
    chain = ChannelManagerClient.from_url(rpc_url, hub.config()["contractAddress"],
                                          account=key.account, token_address=...)
    channel = Channel(hub, store=JsonFileStateStore("wallet.json"), chain=chain)
    channel.deposit(amount_wei=10**17)
    channel.pay("0xmerchant...", amount_token=10**18)

The protocol rules are the hub's own `hub.core`: imported from the repository in a checkout, and
bundled as `spoke_client._core` in the installed package (`pip install ./client`, see README.md).
"""

from __future__ import annotations

from .chain import ChannelDetails, ChannelManagerClient, exit_args, exit_args_list
from .errors import (
    AuthError,
    ChainError,
    HubError,
    HubUnavailable,
    NoExitableState,
    NotFound,
    ProposalRejected,
    SpokeError,
    WebhookVerificationError,
)
from .hub_client import HubClient
from .keys import UserKey
from .liabilities import LiabilityProofInvalid, verify_liability_proof
from .policy import (
    Decision,
    DepositRequest,
    ExchangeRequest,
    PolicyContext,
    SigningPolicy,
    WithdrawalRequest,
)
from .store import ChannelRecord, JsonFileStateStore, MemoryStateStore, StateStore
from .updates import ChannelUpdate, Sync
from .wallet import Channel, PaymentRequest, PurchaseResult, Wallet, generate_secret
from .webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook

__all__ = [
    "SIGNATURE_HEADER",
    "AuthError",
    "ChainError",
    "Channel",
    "ChannelDetails",
    "ChannelManagerClient",
    "ChannelRecord",
    "ChannelUpdate",
    "Decision",
    "DepositRequest",
    "ExchangeRequest",
    "HubClient",
    "HubError",
    "HubUnavailable",
    "JsonFileStateStore",
    "LiabilityProofInvalid",
    "MemoryStateStore",
    "NoExitableState",
    "NotFound",
    "PaymentRequest",
    "PolicyContext",
    "ProposalRejected",
    "PurchaseResult",
    "SigningPolicy",
    "SpokeError",
    "StateStore",
    "Sync",
    "UserKey",
    "Wallet",
    "WebhookVerificationError",
    "WithdrawalRequest",
    "exit_args",
    "exit_args_list",
    "generate_secret",
    "sign_webhook",
    "verify_liability_proof",
    "verify_webhook",
]
