"""The scale-out soak's load: payers paying over HTTP through several web process groups.

Used by tests/e2e/test_scale_out.py (small) and bench/scaleout_bench.py (full size). Each payer
pays, one payment at a time, half PT_CHANNEL into collateralised receivers and half PT_CUSTODIAL
to shops, sending each request to the next web group in turn (what a round-robin load balancer
does). A payment whose channel moved under it (`tx_count_global`, `state_mismatch`) is signed
again on the hub's latest state, as a client does. The shops are users too: they withdraw their
custodial balance on-chain as it grows, which sends hub transactions through the outbox from
whichever worker takes them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RETRY_CODES = ("tx_count_global", "state_mismatch")
MIN_WITHDRAWAL = 10**17  # the hub's minimum custodial withdrawal (0.1 token)


@dataclass
class SoakResult:
    paid: list[str] = field(default_factory=list)  # purchase ids, one per payment that landed
    refused: Counter[str] = field(default_factory=Counter)  # codes of refused attempts
    per_group: Counter[int] = field(default_factory=Counter)  # landed payments by web group
    withdrawals: int = 0
    errors: list[str] = field(default_factory=list)  # anything not expected: fails a run
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _clients(urls: list[str], key: Any) -> list[Any]:
    from spoke_client import HubClient

    return [HubClient(url, key, timeout=60) for url in urls]


def _pay_once(clients: list[Any], turn: int, key: Any, recipient: str, amount: int, ptype: str,
              result: SoakResult) -> str:
    """Pay until the hub takes it or refuses it for good; the outcome ('paid' or a code)."""
    from spoke_client import HubError

    from hub.core import ChannelState, PaymentArgs, Signer, apply_update

    signer = Signer(bytes(key.account.key))
    for attempt in range(200):
        group = (turn + attempt) % len(clients)
        hub = clients[group]
        if attempt:
            time.sleep(random.random() * min(0.05, 0.002 * attempt))
        prev = ChannelState.from_json(hub.get_channel()["state"])
        if prev.balance_token_user < amount:
            return "insufficient_balance"
        args = PaymentArgs(recipient="hub", amount_wei=0, amount_token=amount)
        signed = signer.sign_channel_state(apply_update(prev, "Payment", args, now=0), as_party="user")
        try:
            response = hub.purchase(meta={}, payments=[{
                "recipient": recipient, "type": ptype, "meta": {},
                "amount": {"amountWei": "0", "amountToken": str(amount)},
                "update": {"reason": "Payment", "args": args.to_json(),
                           "txCount": signed.tx_count_global, "sigUser": signed.sig_user}}])
        except HubError as exc:
            with result.lock:
                result.refused[exc.code] += 1
            if exc.code in RETRY_CODES:
                continue
            return exc.code
        with result.lock:
            result.paid.append(str(response["purchaseId"]))
            result.per_group[group] += 1
        return "paid"
    return "too_many_races"


def run_soak(*, urls: list[str], payers: list[Any], receivers: list[str], shops: list[Any],
             seconds: float, amount_max: int = 10**17) -> SoakResult:
    """`payers` and `shops` are `spoke_client.UserKey`s with open channels (payers funded);
    `receivers` are addresses whose channels the hub has collateralised."""
    result = SoakResult()
    shop_addresses = [s.address.lower() for s in shops]
    started = time.monotonic()
    deadline = started + seconds

    def payer_loop(index: int) -> None:
        rng = random.Random(index)
        key = payers[index]
        clients = _clients(urls, key)
        turn = index
        try:
            while time.monotonic() < deadline:
                if receivers and rng.random() < 0.5:
                    recipient, ptype = rng.choice(receivers), "PT_CHANNEL"
                else:
                    recipient, ptype = rng.choice(shop_addresses), "PT_CUSTODIAL"
                if recipient == key.address.lower():
                    continue
                turn += 1
                outcome = _pay_once(clients, turn, key, recipient, rng.randint(1, amount_max),
                                    ptype, result)
                if outcome == "insufficient_balance":
                    return
                if outcome not in ("paid", "insufficient_collateral"):
                    with result.lock:
                        result.errors.append(f"payer {index}: {outcome}")
        except Exception as exc:  # a crashed load thread fails the run
            with result.lock:
                result.errors.append(f"payer {index}: {exc!r}")
        finally:
            for client in clients:
                client.close()

    def shop_loop(index: int) -> None:
        from spoke_client import HubError

        key = shops[index]
        clients = _clients(urls, key)
        turn = index
        try:
            while time.monotonic() < deadline:
                time.sleep(0.5)
                turn += 1
                hub = clients[turn % len(clients)]
                balance = int(hub.custodial_balance().get("balanceToken", "0"))
                if balance < MIN_WITHDRAWAL:
                    continue
                try:
                    hub.custodial_withdraw(amount_token=balance, recipient=key.address)
                except HubError as exc:
                    with result.lock:
                        result.errors.append(f"shop {index} withdrawal: {exc}")
                    continue
                with result.lock:
                    result.withdrawals += 1
        except Exception as exc:
            with result.lock:
                result.errors.append(f"shop {index}: {exc!r}")
        finally:
            for client in clients:
                client.close()

    threads = [threading.Thread(target=payer_loop, args=(i,)) for i in range(len(payers))]
    threads += [threading.Thread(target=shop_loop, args=(i,)) for i in range(len(shops))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    return result
