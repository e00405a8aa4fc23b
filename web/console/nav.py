"""The console's sections and which roles see each; the home page of each role."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str  # the path under /console and the catalogue's nav.<key>
    roles: tuple[str, ...]
    built: bool = False  # False: the page only says it is coming (part 1 of issue 16)


SECTIONS: tuple[Section, ...] = (
    Section("knowledge", ("admin",), built=True),
    Section("agent", ("admin",), built=True),
    Section("inbox", ("admin", "agent", "qa"), built=True),
    Section("contacts", ("admin", "agent"), built=True),
    Section("tickets", ("admin", "agent"), built=True),
    Section("broadcasts", ("admin",), built=True),
    Section("channels", ("admin",), built=True),
    Section("evals", ("admin", "qa"), built=True),
    Section("team", ("admin",), built=True),
)
BY_KEY = {section.key: section for section in SECTIONS}
HOME = {"admin": "knowledge", "agent": "inbox", "qa": "evals"}


def visible(role: str) -> list[Section]:
    return [section for section in SECTIONS if role in section.roles]
