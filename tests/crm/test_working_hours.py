"""Working-hours arithmetic on hand-computed examples (Hong Kong, Mon-Fri 09:00-18:00)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from crm.working_hours import WorkingHours

HK = ZoneInfo("Asia/Hong_Kong")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HK)  # 2026-11-27 is a Friday


def test_time_outside_hours_does_not_count() -> None:
    hours = WorkingHours()
    assert hours.seconds_between(at(27, 17), at(30, 10, 30)) == 2.5 * 3600  # Fri 1 h + Mon 1.5 h
    assert hours.seconds_between(at(28, 10), at(29, 20)) == 0  # the weekend
    assert hours.seconds_between(at(27, 7), at(27, 8)) == 0  # before opening
    assert hours.seconds_between(at(27, 12), at(27, 11)) == 0  # end before start
    utc = at(27, 17).astimezone(ZoneInfo("UTC"))  # instants, not wall clocks
    assert hours.seconds_between(utc, at(27, 18)) == 3600


def test_deadlines_and_opening_times_skip_closed_hours() -> None:
    hours = WorkingHours()
    assert hours.add(at(27, 17), 2 * 3600) == at(30, 10)
    assert hours.add(at(28, 12), 3600) == at(30, 10)  # asked on Saturday: the clock starts Monday 09:00
    assert not hours.is_open(at(28, 12)) and hours.is_open(at(27, 9))
    assert hours.next_opening(at(28, 12)) == at(30, 9)
    assert hours.next_opening(at(27, 18, 30)) == at(30, 9)


def test_a_schedule_must_be_valid() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        WorkingHours(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="funday"):
        WorkingHours.model_validate({"days": {"funday": {"start": "09:00", "end": "17:00"}}})
    with pytest.raises(ValidationError, match="not after"):
        WorkingHours.model_validate({"days": {"mon": {"start": "18:00", "end": "09:00"}}})
