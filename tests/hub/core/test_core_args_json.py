"""The update args' wire form: each reason's args go back to the JSON they came from, and the
optional fields appear exactly when set (a client reads `sigUser` and `message` by name)."""

from __future__ import annotations

from hub.core.args import DepositArgs, InvalidationArgs

SIG = "0x" + "11" * 64 + "1b"


def test_deposit_args_carry_the_user_signature_only_when_there_is_one() -> None:
    wire = {"depositWeiHub": "1", "depositWeiUser": "2", "depositTokenHub": "3",
            "depositTokenUser": "4", "timeout": 600}
    hub_initiated = DepositArgs.from_json(wire)
    assert hub_initiated.sig_user is None
    assert hub_initiated.to_json() == wire
    user_initiated = DepositArgs.from_json({**wire, "sigUser": SIG})
    assert user_initiated.to_json() == {**wire, "sigUser": SIG}
    assert DepositArgs.from_json(user_initiated.to_json()) == user_initiated


def test_invalidation_args_carry_the_message_only_when_there_is_one() -> None:
    bare = InvalidationArgs(invalid_tx_count=5, reason="CU_INVALID_TIMEOUT")
    assert bare.to_json() == {"invalidTxCount": 5, "reason": "CU_INVALID_TIMEOUT"}
    explained = InvalidationArgs(invalid_tx_count=5, reason="CU_INVALID_ERROR", message="gone")
    assert explained.to_json() == {"invalidTxCount": 5, "reason": "CU_INVALID_ERROR",
                                   "message": "gone"}
    assert InvalidationArgs.from_json(explained.to_json()) == explained
