"""Thread-aware channel users for the thread tests: they keep their channel's open initial thread
states (as the client's store does) and regenerate OpenThread/CloseThread with them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hub.core import ThreadState, apply_update, thread_payment
from hub.core.threads import same_thread
from ops.models import GlobalSwitches
from tests.chain_env import ChainEnv
from tests.hub.api.test_channel_flows import now_of
from tests.hub.api.user_sim import UserSim
from tests.purchases.helpers import funded_user


def switch_threads(on: bool) -> None:
    from ops import models as ops_models

    switches = GlobalSwitches.current()
    switches.threads_enabled = on
    switches.save()
    ops_models._SWITCH_CACHE.clear()


@dataclass
class ThreadUser:
    sim: UserSim
    hub: str
    initial: list[ThreadState] = field(default_factory=list)  # open threads in our channel root
    threads: dict[tuple[str, str, int], ThreadState] = field(default_factory=dict)  # latest

    @property
    def address(self) -> str:
        return self.sim.address

    def regenerate(self, item: dict[str, Any], *, now: int) -> Any:
        update = item["update"]
        if update["reason"] not in ("OpenThread", "CloseThread"):
            return self.sim.regenerate(item, now=now)
        new = apply_update(self.sim.latest, update["reason"], update["args"], now=0,
                           initial_threads=self.initial, hub_address=self.hub)
        return new.replace(sig_hub=update["sigHub"] or None, sig_user=update["sigUser"] or None)

    def _track(self, reason: str, args: dict[str, Any]) -> None:
        thread = ThreadState.from_json(args)
        if reason == "OpenThread":
            self.initial.append(thread)
            self.threads[(thread.sender, thread.receiver, thread.thread_id)] = thread
        elif reason == "CloseThread":
            self.initial = [t for t in self.initial if not same_thread(t, thread)]
            self.threads.pop((thread.sender, thread.receiver, thread.thread_id), None)

    def sync(self, env: ChainEnv, *, countersign: bool = True) -> list[str]:
        """Sync; adopt thread states; countersign hub-signed channel states we lack."""
        response = self.sim.get(f"channel/{self.address}/sync?lastChanTx="
                                f"{self.sim.latest.tx_count_global}&lastThreadUpdateId=0")
        assert response.status_code == 200, response.content
        requests, reasons = [], []
        for item in response.json()["updates"]:
            if item["type"] == "thread":
                state = ThreadState.from_json(item["update"]["state"])
                key = (state.sender, state.receiver, state.thread_id)
                if key in self.threads and state.tx_count > self.threads[key].tx_count:
                    self.threads[key] = state
                continue
            update = item["update"]
            if update["txCount"] is None or update["txCount"] <= self.sim.latest.tx_count_global:
                continue
            new = self.regenerate(item, now=now_of(env))
            if new.sig_user is None and countersign:
                new = self.sim.signer.sign_channel_state(new, as_party="user")
                requests.append({"reason": update["reason"], "args": update["args"],
                                 "txCount": new.tx_count_global, "sigUser": new.sig_user})
            self.sim.state = new
            self._track(update["reason"], update["args"])
            reasons.append(update["reason"])
        if requests:
            posted = self.sim.post(f"channel/{self.address}/update", {"updates": requests})
            assert posted.status_code == 200, posted.content
        return reasons

    def open_thread(self, receiver: str, *, token: int = 0, wei: int = 0,
                    thread_id: int = 1) -> Any:
        thread = self.sim.signer.sign_thread_state(ThreadState(
            contract_address=self.sim.contract.lower(), sender=self.address, receiver=receiver,
            thread_id=thread_id, balance_wei_sender=wei, balance_token_sender=token))
        new = apply_update(self.sim.latest, "OpenThread", thread.to_json(), now=0,
                           initial_threads=self.initial, hub_address=self.hub)
        signed = self.sim.signer.sign_channel_state(new, as_party="user")
        response = self.sim.post(f"channel/{self.address}/update", {"updates": [{
            "reason": "OpenThread", "args": thread.to_json(), "txCount": signed.tx_count_global,
            "sigUser": signed.sig_user, "initialThreadStates": [t.to_json() for t in self.initial],
        }], "lastThreadUpdateId": 0})
        if response.status_code == 200:
            item = next(i for i in response.json()["updates"]["updates"]
                        if i["type"] == "channel" and i["update"]["txCount"] == signed.tx_count_global)
            self.sim.state = signed.replace(sig_hub=item["update"]["sigHub"])
            self._track("OpenThread", thread.to_json())
        return response

    def thread_pay(self, receiver: str, *, token: int = 0, wei: int = 0,
                   thread_id: int = 1) -> tuple[ThreadState, Any]:
        key = (self.address, receiver, thread_id)
        new = self.sim.signer.sign_thread_state(thread_payment(self.threads[key], wei, token))
        response = self.sim.post(f"thread/{self.address}/to/{receiver}/update",
                                 {"update": {"state": new.to_json()}})
        if response.status_code == 200:
            self.threads[key] = new
        return new, response

    def close_thread(self, key: tuple[str, str, int], state: ThreadState | None = None) -> Any:
        state = state or self.threads[key]
        new = apply_update(self.sim.latest, "CloseThread", state.to_json(), now=0,
                           initial_threads=self.initial, hub_address=self.hub)
        signed = self.sim.signer.sign_channel_state(new, as_party="user")
        response = self.sim.post(f"channel/{self.address}/update", {"updates": [{
            "reason": "CloseThread", "args": state.to_json(), "txCount": signed.tx_count_global,
            "sigUser": signed.sig_user}]})
        if response.status_code == 200:
            item = next(i for i in response.json()["updates"]["updates"]
                        if i["update"]["txCount"] == signed.tx_count_global)
            self.sim.state = signed.replace(sig_hub=item["update"]["sigHub"])
            self._track("CloseThread", state.to_json())
        return response


def thread_user(env: ChainEnv, *, tokens: int = 0, wei: int = 0) -> ThreadUser:
    sim = funded_user(env, tokens=tokens, wei=wei)
    from hub.channels.records import hub_address

    return ThreadUser(sim, hub_address())


def signed_copy(state: ThreadState, signer: Any) -> ThreadState:
    return signer.sign_thread_state(replace(state, sig_a=None))
