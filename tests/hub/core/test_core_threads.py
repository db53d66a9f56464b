"""OpenThread / CloseThread / thread payments in the pure core: table tests, and golden vectors
from the published client's StateGenerator (connext@4.1.7)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from core_factories import CONTRACT, HUB, OTHER, REPO, USER, signed, state

from hub.core import (
    ChannelState,
    InvariantViolation,
    ThreadState,
    UpdateRejected,
    apply_update,
    check_invariants,
    thread_payment,
    thread_root,
    validate_signed_update,
    validate_thread_payment,
)
from hub.core.state import ZERO_ROOT

TOKEN = 10**18


def initial(amount_token: int = 10 * TOKEN, amount_wei: int = 0, *, thread_id: int = 1,
            sender: Any = USER, receiver: Any = OTHER) -> ThreadState:
    return sender.sign_thread_state(ThreadState(
        contract_address=CONTRACT, sender=sender.address, receiver=receiver.address,
        thread_id=thread_id, balance_wei_sender=amount_wei, balance_token_sender=amount_token))


def pay(thread: ThreadState, token: int, wei: int = 0) -> ThreadState:
    return USER.sign_thread_state(thread_payment(thread, wei, token))


def sender_channel(**fields: Any) -> ChannelState:
    return signed(state(balance_token_user=50 * TOKEN, balance_token_hub=5 * TOKEN,
                        balance_wei_user=10**18, **fields))


def receiver_channel(**fields: Any) -> ChannelState:
    return signed(state(user=OTHER.address, recipient=OTHER.address, balance_wei_hub=10**16,
                        balance_token_hub=40 * TOKEN, **fields), user=False)


def open_(prev: ChannelState, thread: ThreadState, threads: list[ThreadState] | None = None,
          **kw: Any) -> ChannelState:
    return apply_update(prev, "OpenThread", thread.to_json(), now=0,
                        initial_threads=threads or [], hub_address=HUB.address, **kw)


def close(prev: ChannelState, thread: ThreadState, threads: list[ThreadState]) -> ChannelState:
    return apply_update(prev, "CloseThread", thread.to_json(), now=0, initial_threads=threads,
                        hub_address=HUB.address)


def test_open_thread_in_both_channels_moves_the_funders_balance() -> None:
    t = initial()
    s = open_(sender_channel(), t)
    assert (s.balance_token_user, s.balance_token_hub) == (40 * TOKEN, 5 * TOKEN)
    assert s.thread_count == 1 and s.thread_root == thread_root([t]) != ZERO_ROOT
    assert s.tx_count_global == 2 and s.tx_count_chain == 1 and s.timeout == 0
    r = open_(receiver_channel(), t)
    assert (r.balance_token_user, r.balance_token_hub) == (0, 30 * TOKEN)
    assert r.thread_root == s.thread_root


def test_close_thread_pays_each_side_in_each_channel() -> None:
    t = initial()
    s1, r1 = open_(sender_channel(), t), open_(receiver_channel(), t)
    latest = pay(pay(t, 3 * TOKEN), 4 * TOKEN)
    s2 = close(signed(s1), latest, [t])
    assert (s2.balance_token_user, s2.balance_token_hub) == (43 * TOKEN, 12 * TOKEN)
    assert s2.thread_count == 0 and s2.thread_root == ZERO_ROOT
    r2 = close(signed(r1, user=False), latest, [t])
    assert (r2.balance_token_user, r2.balance_token_hub) == (7 * TOKEN, 33 * TOKEN)


def test_close_keeps_the_other_threads_in_the_root() -> None:
    a, b = initial(thread_id=1), initial(2 * TOKEN, receiver=HUB.__class__("0x" + "44" * 32))
    s = signed(open_(signed(open_(sender_channel(), a)), b, [a]))
    assert s.thread_count == 2
    closed = close(s, a, [a, b])
    assert closed.thread_count == 1 and closed.thread_root == thread_root([b])


@pytest.mark.parametrize(("mutate", "code"), [
    (lambda t: initial(100 * TOKEN), "insufficient_balance"),
    (lambda t: initial(0), "bad_args"),
    (lambda t: USER.sign_thread_state(ThreadState(**{**_fields(t), "tx_count": 1})), "bad_args"),
    (lambda t: USER.sign_thread_state(ThreadState(**{**_fields(t), "balance_token_receiver": 1})),
     "bad_args"),
    (lambda t: OTHER.sign_thread_state(t), "bad_signature"),
    (lambda t: initial(receiver=HUB), "bad_args"),
    (lambda t: initial(receiver=USER), "bad_args"),
    (lambda t: USER.sign_thread_state(ThreadState(**{**_fields(t), "contract_address": "0x" + "dd" * 20})),
     "wrong_channel"),
])
def test_open_thread_rejections(mutate: Any, code: str) -> None:
    with pytest.raises(UpdateRejected) as err:
        open_(sender_channel(), mutate(initial()))
    assert err.value.code == code


def _fields(t: ThreadState) -> dict[str, Any]:
    return {f: getattr(t, f) for f in ThreadState.__slots__ if f != "sig_a"}


def test_open_thread_needs_the_channels_initial_states() -> None:
    t = initial()
    s = signed(open_(sender_channel(), t))
    other = initial(thread_id=2, receiver=HUB.__class__("0x" + "55" * 32))
    with pytest.raises(UpdateRejected) as err:
        open_(s, other, [])
    assert err.value.code == "thread_root_mismatch"
    with pytest.raises(UpdateRejected) as err:
        apply_update(s, "OpenThread", other.to_json(), now=0)
    assert err.value.code == "bad_args"
    with pytest.raises(UpdateRejected) as err:  # one open thread per (sender, receiver)
        open_(s, initial(thread_id=2), [t])
    assert err.value.code == "thread_exists"


def test_no_thread_on_top_of_a_timeout() -> None:
    with pytest.raises(UpdateRejected) as err:
        open_(sender_channel(timeout=5, pending_deposit_wei_user=1), initial())
    assert err.value.code == "pending_timeout"


def test_close_rejections() -> None:
    t = initial()
    s = signed(open_(sender_channel(), t))
    with pytest.raises(UpdateRejected) as err:
        close(s, initial(thread_id=9), [t])
    assert err.value.code == "thread_not_found"
    bad = USER.sign_thread_state(ThreadState(**{**_fields(t), "tx_count": 1,
                                               "balance_token_sender": 11 * TOKEN}))
    with pytest.raises(UpdateRejected) as err:
        close(s, bad, [t])
    assert err.value.code == "value_not_conserved"
    with pytest.raises(UpdateRejected) as err:
        close(s, OTHER.sign_thread_state(pay(t, TOKEN)), [t])
    assert err.value.code == "bad_signature"
    with pytest.raises(UpdateRejected) as err:
        close(s, t, [])
    assert err.value.code == "thread_root_mismatch"


def test_thread_payment_validation() -> None:
    t = initial()
    one = pay(t, TOKEN)
    assert validate_thread_payment(t, one, hub_address=HUB.address) == one
    for bad, code in [
        (pay(one, 0), "tx_count_global"),  # skips a txCount
        (USER.sign_thread_state(thread_payment(t, 0, 0)), "bad_args"),  # moves nothing
        (thread_payment(t, 0, 11 * TOKEN).__class__(**{**_fields(thread_payment(t, 0, 11 * TOKEN)),
                                                        "sig_a": one.sig_a}), "negative_balance"),
        (OTHER.sign_thread_state(one), "bad_signature"),
        (t, "tx_count_global"),
    ]:
        with pytest.raises(UpdateRejected) as err:
            validate_thread_payment(t, bad, hub_address=HUB.address)
        assert err.value.code == code, bad


def test_receiver_balance_never_falls() -> None:
    t = initial()
    two = pay(pay(t, 3 * TOKEN), 2 * TOKEN)
    back = USER.sign_thread_state(ThreadState(**{**_fields(two), "tx_count": 3,
                                                "balance_token_sender": 6 * TOKEN,
                                                "balance_token_receiver": 4 * TOKEN}))
    with pytest.raises(UpdateRejected) as err:
        validate_thread_payment(two, back, hub_address=HUB.address)
    assert err.value.code == "bad_args"


def test_validate_signed_open_thread() -> None:
    t = initial()
    prev = sender_channel()
    new = USER.sign_channel_state(open_(prev, t), as_party="user")
    validate_signed_update(prev, new, "OpenThread", t.to_json(), hub_address=HUB.address, now=0,
                           initial_threads=[])
    forged = USER.sign_channel_state(new.replace(balance_token_user=new.balance_token_user + 1),
                                     as_party="user")
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(prev, forged, "OpenThread", t.to_json(), hub_address=HUB.address,
                               now=0, initial_threads=[])
    assert err.value.code == "state_mismatch"


def test_invariants_hold_the_thread_to_its_value() -> None:
    t = initial()
    prev = sender_channel()
    good = open_(prev, t)
    check_invariants(prev, good, "OpenThread", thread_delta=(0, -10 * TOKEN))
    with pytest.raises(InvariantViolation):
        check_invariants(prev, good, "OpenThread", thread_delta=(0, -9 * TOKEN))
    with pytest.raises(InvariantViolation):  # a thread count change under another reason
        check_invariants(prev, good.replace(balance_token_user=50 * TOKEN), "Payment")


# --- golden vectors from the client ------------------------------------------------------

_GOLDEN_JS = r"""
const path = require('path')
const dist = path.join(process.cwd(), 'node_modules', 'connext', 'dist')
const { StateGenerator } = require(path.join(dist, 'StateGenerator'))
const types = require(path.join(dist, 'types'))
const sg = new StateGenerator()
const req = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const out = req.map(({ reason, prev, initial, args }) => {
  const bnPrev = types.convertChannelState('bn', prev)
  const bnArgs = types.convertThreadState('bn', args)
  const st = reason === 'OpenThread'
    ? sg.openThread(bnPrev, initial, bnArgs)
    : sg.closeThread(bnPrev, initial, bnArgs)
  return st
})
process.stdout.write(JSON.stringify(out))
"""


def test_open_and_close_match_the_client_generator() -> None:
    t1 = initial(7 * TOKEN, 10**15)
    t2 = initial(3 * TOKEN, thread_id=4, sender=OTHER, receiver=USER)
    s0 = sender_channel()
    s1 = open_(s0, t1)
    s2 = open_(signed(s1), t2, [t1])
    latest = pay(pay(t1, 2 * TOKEN, 10**14), TOKEN)
    s3 = close(signed(s2), latest, [t1, t2])
    r0 = receiver_channel()
    r1 = open_(r0, t1)
    r2 = close(signed(r1, user=False), latest, [t1])
    cases = [
        ("OpenThread", s0, [], t1, s1),
        ("OpenThread", signed(s1), [t1], t2, s2),
        ("CloseThread", signed(s2), [t1, t2], latest, s3),
        ("OpenThread", r0, [], t1, r1),
        ("CloseThread", signed(r1, user=False), [t1], latest, r2),
    ]
    request = [{"reason": reason, "prev": prev.to_json(),
                "initial": [t.to_json() for t in threads], "args": args.to_json()}
               for reason, prev, threads, args, _ in cases]
    proc = subprocess.run(["node", "-e", _GOLDEN_JS], input=json.dumps(request).encode(),
                          cwd=REPO, capture_output=True, check=True, timeout=120)
    answers = json.loads(proc.stdout)
    for (reason, _prev, _threads, _args, ours), theirs in zip(cases, answers, strict=True):
        expected = ours.to_json(with_sigs=False)
        got = {k: theirs[k] for k in expected}
        assert got == expected, reason
