"""The console's sections and which roles see each; the home page of each role."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str  # the path under /console and the catalogue's nav.<key>
    roles: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section("knowledge", ("admin",)),
    Section("agent", ("admin",)),
    Section("inbox", ("admin", "agent", "qa")),
    Section("contacts", ("admin", "agent")),
    Section("tickets", ("admin", "agent")),
    Section("broadcasts", ("admin",)),
    Section("channels", ("admin",)),
    Section("evals", ("admin", "qa")),
    Section("team", ("admin",)),
    Section("settings", ("admin",)),
)
BY_KEY = {section.key: section for section in SECTIONS}
HOME = {"admin": "knowledge", "agent": "inbox", "qa": "evals"}


def visible(role: str) -> list[Section]:
    return [section for section in SECTIONS if role in section.roles]
