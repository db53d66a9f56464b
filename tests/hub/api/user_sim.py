"""A minimal channel user for API tests: authenticates, keeps its own latest state, regenerates
every state from the hub's sync items with hub.core, and countersigns what it accepts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from hub.core import ChannelState, Signer, apply_update, transitions, zero_state
from hub.core.args import parse_args


@dataclass
class UserSim:
    account: LocalAccount
    contract: str
    client: Client = field(default_factory=Client)
    state: ChannelState | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.account.address.lower()

    @property
    def signer(self) -> Signer:
        return Signer(bytes(self.account.key))

    def login(self) -> None:
        response = self.client.get("/api/hub/nonce", headers={"x-address": self.address})
        assert response.status_code == 200, response.content
        nonce = response.json()["nonce"]
        signature = Account.sign_message(encode_defunct(text=nonce), self.account.key).signature
        self.headers = {"x-address": self.address, "x-nonce": nonce,
                        "x-signature": "0x" + bytes(signature).hex()}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/hub/{path}", headers=self.headers)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/hub/{path}", data=json.dumps(body),
                                content_type="application/json", headers=self.headers)

    @property
    def latest(self) -> ChannelState:
        return self.state or zero_state(self.contract.lower(), self.address)

    def regenerate(self, item: dict[str, Any], *, now: int, hub_rate: Any = None) -> ChannelState:
        """The state a sync item describes, computed from our own latest state and its args."""
        update = item["update"]
        prev = self.latest
        reason = update["reason"]
        if reason == "ConfirmPending":
            new = transitions.confirm_pending(prev)
        elif reason == "Invalidation":
            new = transitions.invalidation(prev, parse_args("Invalidation", update["args"]))
        else:
            new = apply_update(prev, reason, update["args"], now=now, hub_rate=hub_rate)
        return new.replace(sig_hub=update["sigHub"] or None, sig_user=update["sigUser"] or None)

    def accept(self, item: dict[str, Any], *, now: int, hub_rate: Any = None) -> dict[str, Any]:
        """Countersign the item's state, adopt it, and return the update request to post."""
        new = self.regenerate(item, now=now, hub_rate=hub_rate)
        signed = self.signer.sign_channel_state(new, as_party="user")
        self.state = signed
        update = item["update"]
        return {"reason": update["reason"], "args": update["args"],
                "txCount": signed.tx_count_global, "sigUser": signed.sig_user,
                "sigHub": update["sigHub"] or ""}
