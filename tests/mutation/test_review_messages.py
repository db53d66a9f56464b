"""`./spoke mutate --review-messages` proposes a survivor for equivalent.md only when it changes
nothing but an error message's prose: never a stable code, a param name or a value."""

from __future__ import annotations

import pytest

from stack.mutate import only_changes_a_message

BEFORE = '-        raise PaymentsError("parameter_invalid", "asset is wei or token", param="asset")'


def diff(after: str) -> list[str]:
    return [BEFORE, "+        " + after]


@pytest.mark.parametrize(("after", "prose_only"), [
    ('raise PaymentsError("parameter_invalid", "XXasset is wei or tokenXX", param="asset")', True),
    ('raise PaymentsError("parameter_invalid", "ASSET IS WEI OR TOKEN", param="asset")', True),
    ('raise PaymentsError("parameter_invalid", None, param="asset")', True),
    # a code or a param right before or after the message is not prose
    ('raise PaymentsError("XXparameter_invalidXX", "asset is wei or token", param="asset")', False),
    ('raise PaymentsError("parameter_invalid", "asset is wei or token", param="XXassetXX")', False),
    ('raise PaymentsError("parameter_invalid", "asset is wei or token", param=None)', False),
    ('raise PaymentsError(None, "asset is wei or token", param="asset")', False),
    ('raise PaymentsError("parameter_invalid", "asset is wei or token", )', False),
])
def test_only_the_message_text_counts_as_prose(after: str, prose_only: bool) -> None:
    assert only_changes_a_message(diff(after)) is prose_only


def test_an_fstring_message_and_a_quote_inside_a_literal() -> None:
    before = ["-    raise HubError('bad_args', f\"{name} isn't valid\", field='x')"]
    assert only_changes_a_message([*before, "+    raise HubError('bad_args', f\"XX{name} isn't validXX\", field='x')"])
    assert not only_changes_a_message([*before, "+    raise HubError('bad_args', f\"{name} isn't valid\", field='XXxXX')"])
