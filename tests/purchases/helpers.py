"""Channel users with money in their channels, for payment tests."""

from __future__ import annotations

from typing import Any

from django.db import connection

from hub.channels.models import ChannelUpdate
from tests.chain_env import ChainEnv
from tests.hub.api.test_channel_flows import (
    confirm_from_chain,
    last_item,
    now_of,
    run_hub_transactions,
    user_deposit,
)
from tests.hub.api.user_sim import UserSim


def funded_user(env: ChainEnv, *, wei: int = 0, tokens: int = 0) -> UserSim:
    sim = UserSim(env.new_user(eth=wei + 10**18, tokens=tokens), env.deployment.channel_manager)
    sim.login()
    if wei:
        user_deposit(env, sim, wei=wei)
    if tokens:
        user_deposit(env, sim, tokens=tokens)
    return sim


def collateralize(env: ChainEnv, sim: UserSim) -> None:
    """Ask for hub collateral, countersign the proposal, let the hub deposit it on-chain."""
    item = last_item(sim.post(f"channel/{sim.address}/request-collateralization", {}))
    assert item["update"]["reason"] == "ProposePendingDeposit", item
    request = sim.accept(item, now=now_of(env))
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(env, sim)


def pay_request(sim: UserSim, recipient: str, *, token: int = 0, wei: int = 0, ptype: str,
                meta: dict[str, Any] | None = None, tx_offset: int = 1) -> dict[str, Any]:
    """One payment of a purchase: the user's signed Payment to the hub, chained on its state."""
    from hub.core import PaymentArgs, apply_update

    args = PaymentArgs(recipient="hub", amount_wei=wei, amount_token=token)
    new = apply_update(sim.latest, "Payment", args, now=0)
    signed = sim.signer.sign_channel_state(new, as_party="user")
    sim.state = signed
    return {"recipient": recipient, "amount": {"amountWei": str(wei), "amountToken": str(token)},
            "type": ptype, "meta": meta or {},
            "update": {"reason": "Payment", "args": args.to_json(), "txCount": signed.tx_count_global,
                       "sigUser": signed.sig_user}}


def accept_hub_updates(env: ChainEnv, sim: UserSim) -> list[str]:
    """Sync, countersign every hub-signed update we do not have yet, and post them back."""
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}")
    assert response.status_code == 200
    requests, reasons = [], []
    for item in response.json()["updates"]:
        if item["update"]["txCount"] is None:
            continue
        requests.append(sim.accept(item, now=now_of(env)))
        reasons.append(item["update"]["reason"])
    if requests:
        assert sim.post(f"channel/{sim.address}/update", {"updates": requests}).status_code == 200
    return reasons


def double_signed_everywhere() -> bool:
    return not ChannelUpdate.objects.filter(sig_user__isnull=True, invalid__isnull=True).exists()


def last_key(model: type) -> int:
    """The last value the model's id sequence handed out (0: none yet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))",
                       [model._meta.db_table])  # type: ignore[attr-defined]
        return int(cursor.fetchone()[0] or 0)
