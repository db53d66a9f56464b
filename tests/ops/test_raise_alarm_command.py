"""`manage.py raise_alarm`: how the `./spoke up` launcher records a restarted process."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from ops.models import Alarm

pytestmark = pytest.mark.django_db


def test_a_second_raise_bumps_the_open_alarm() -> None:
    for pid in (11, 12):
        call_command("raise_alarm", "--kind", "process_restarted", "--key", "web",
                     "--message", f"web (pid {pid}) was killed", "--detail", f'{{"pid": {pid}}}')
    alarm = Alarm.objects.get(kind="process_restarted", key="web")
    assert (alarm.occurrences, alarm.severity, alarm.detail, alarm.message) == (
        2, "warning", {"pid": 12}, "web (pid 12) was killed")


@pytest.mark.parametrize("detail", ["[1]", "{not json"])
def test_a_detail_that_is_not_a_json_object_is_refused_and_nothing_is_raised(detail: str) -> None:
    with pytest.raises(CommandError):
        call_command("raise_alarm", "--kind", "process_restarted", "--message", "x", "--detail", detail)
    assert not Alarm.objects.exists()


def test_many_alarms_are_raised_in_one_call_or_none_when_one_is_invalid() -> None:
    good = {"kind": "process_restarted", "key": "postgres", "severity": "critical",
            "message": "postgres was killed", "detail": {"pid": 7}}
    with pytest.raises(CommandError):
        call_command("raise_alarm", "--many", json.dumps([good, {**good, "severity": "loud"}]))
    assert not Alarm.objects.exists()

    call_command("raise_alarm", "--many", json.dumps([good, {**good, "key": "anvil"}]))
    assert sorted(Alarm.objects.values_list("key", "severity")) == [
        ("anvil", "critical"), ("postgres", "critical")]
