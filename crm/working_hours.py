"""A tenant's working hours, and time measured in them (SLA clocks and ticket metrics stop outside hours).

Hours are a weekly schedule in the tenant's time zone: for each weekday, one opening window (closed days
have none). Durations are computed by walking the calendar days between two instants and adding the part
of each day's window that falls between them, so DST changes and midnight are handled by the zone itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS_WALKED = 3660  # ten years: no ticket stays open longer, and the walk stays bounded


class Window(BaseModel):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"closing time {self.end} is not after opening time {self.start}")
        return self


class WorkingHours(BaseModel):
    timezone: str = Field(default="Asia/Hong_Kong", description="IANA zone, e.g. Asia/Hong_Kong")
    days: dict[str, Window] = Field(
        default_factory=lambda: {d: Window(start=time(9), end=time(18)) for d in DAYS[:5]},
        description="weekday (mon..sun) -> opening window; a missing day is closed",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: dict[str, Window]) -> dict[str, Window]:
        unknown = sorted(set(value) - set(DAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}; use {list(DAYS)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        window = self.days.get(DAYS[day.weekday()])
        if window is None:
            return None
        zone = self.zone
        return datetime.combine(day, window.start, zone), datetime.combine(day, window.end, zone)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds from `start` to `end` (0 if end is not after start)."""
        if end <= start:
            return 0.0
        zone = self.zone
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        total = 0.0
        for _ in range(MAX_DAYS_WALKED):
            window = self._window(day)
            if window is not None:
                opened, closed = max(window[0], start), min(window[1], end)
                if closed > opened:
                    total += (closed - opened).total_seconds()
            if day >= last:
                break
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of working time after `start` (an SLA deadline)."""
        zone = self.zone
        day = start.astimezone(zone).date()
        left = seconds
        for _ in range(MAX_DAYS_WALKED):
            window = self._window(day)
            if window is not None:
                opened = max(window[0], start)
                if window[1] > opened:
                    available = (window[1] - opened).total_seconds()
                    if left <= available:
                        return opened + timedelta(seconds=left)
                    left -= available
            day += timedelta(days=1)
        raise ValueError("no working hours in the schedule")

    def is_open(self, at: datetime) -> bool:
        window = self._window(at.astimezone(self.zone).date())
        return window is not None and window[0] <= at < window[1]

    def next_opening(self, at: datetime) -> datetime | None:
        """When a person is next at work (None when the schedule has no open day)."""
        if self.is_open(at):
            return at
        day = at.astimezone(self.zone).date()
        for _ in range(8):
            window = self._window(day)
            if window is not None and window[0] > at:
                return window[0]
            day += timedelta(days=1)
        return None


class TenantHours:
    """Each tenant's working hours and time zone, for whoever needs them: the agent (when a person will
    answer), broadcasts (the zone a send time is read in), ticket SLAs. They are stored in the ticket
    settings (`working_hours` in GET|PUT /v1/tickets/settings); readers ask here, not the ticket store."""

    def __init__(self, read: Callable[[str], WorkingHours]) -> None:
        self._read = read

    def of(self, tenant_id: str) -> WorkingHours:
        return self._read(tenant_id)

    def timezone(self, tenant_id: str) -> str:
        """The tenant's IANA zone name, e.g. "Asia/Hong_Kong"."""
        return self._read(tenant_id).timezone
