"""Eval datasets: YAML or JSONL files of cases, validated up front so a bad file fails with its line.

A YAML dataset is a mapping with `name`, `version` and `cases`; a JSONL dataset is one case per line
(its name is the file's stem). Three kinds of case:

- golden: a question with a reference answer, and optionally the facts the answer must state
  (`reference_facts`), the sources it should come from (`reference_sources`, names or ids) and
  the passages it should be grounded on (`reference_contexts`).
- behaviour: a question and what the agent must do (`expect`): decline (or say it does not know), hand
  off (to a team), call a tool (with some arguments), not leak its instructions, answer in a language,
  treat the message as small talk (a short reply, no knowledge, no handoff).
- regression: an answer a person rated good (`reference` is that answer); it must stay good.

Any case may carry the human `rating` (up/down) it was exported with; agreement.py uses those, and
earlier `turns` of the same conversation: messages sent first, each with the facts its reply must state
and what it must do, so a follow-up ("and each extra person?") is asked where it makes sense.
A file of `dialogues` (the faq-dev layout: each a list of turns with `expect_facts`) loads as such cases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InvalidInput


class DatasetError(InvalidInput):
    """A dataset that cannot be used; the message names the file and the line."""

    code = "invalid_dataset"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HandoffExpectation(Strict):
    team: str | None = Field(default=None, description="the team it must be routed to; any team if unset")


class ToolExpectation(Strict):
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict, description="arguments that must be among the call's")


class Expect(Strict):
    decline: bool = False
    handoff: HandoffExpectation | bool | None = None
    tool: ToolExpectation | None = None
    no_leak: bool = False
    forbidden: list[str] = Field(default_factory=list, description="strings the reply must not contain")
    language: Literal["en", "zh"] | None = None
    small_talk: bool = False

    @model_validator(mode="after")
    def _something(self) -> Expect:
        if not (
            self.small_talk
            or self.decline
            or self.handoff not in (None, False)
            or self.tool
            or self.no_leak
            or self.forbidden
            or self.language
        ):
            raise ValueError("expect must name at least one behaviour")
        return self


class Turn(Strict):
    """An earlier message of the case's conversation."""

    message: str = Field(min_length=1, max_length=4000)
    reference_facts: list[str] = Field(default_factory=list)
    expect: Expect | None = None


class Case(Strict):
    id: str = Field(min_length=1, max_length=200)
    kind: Literal["golden", "behaviour", "regression"]
    question: str = Field(min_length=1, max_length=4000)
    reference: str | None = None
    reference_facts: list[str] = Field(default_factory=list)
    reference_sources: list[str] = Field(default_factory=list)
    reference_contexts: list[str] = Field(default_factory=list)
    expect: Expect | None = None
    rating: Literal["up", "down"] | None = None
    comment: str | None = None
    rated_reply: str | None = Field(default=None, description="the reply the person rated")
    tags: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(
        default_factory=list, max_length=20, description="messages sent before `question`, in order"
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Case:
        if self.kind in ("golden", "regression") and not self.reference:
            raise ValueError(f"a {self.kind} case needs a reference answer")
        if self.kind == "behaviour" and self.expect is None:
            raise ValueError("a behaviour case needs expect")
        return self


DATASET_NAME = r"^[\w.-]+$"  # letters, digits, _ . - (a dataset's name is also a file name)


class Header(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=DATASET_NAME)
    version: str | int = 1
    description: str = ""
    cases: list[Any]


def dialogue_cases(dialogues: list[Any]) -> list[dict[str, Any]]:
    """faq-dev's dialogues (id, turns of {message, expect_facts, expect}) as behaviour cases with turns."""
    cases = []
    for dialogue in dialogues:
        if (
            not isinstance(dialogue, dict)
            or not isinstance(dialogue.get("turns"), list)
            or not dialogue["turns"]
        ):
            raise ValueError("a dialogue needs an id and a list of turns")
        *earlier, last = dialogue["turns"]
        expect = dict(last.get("expect") or {}) or {"language": dialogue.get("language", "en")}
        cases.append(
            {
                "id": dialogue.get("id"),
                "kind": "behaviour",
                "question": last.get("message"),
                "reference_facts": last.get("expect_facts", []),
                "reference_sources": dialogue.get("reference_sources", []),
                "expect": expect,
                "tags": dialogue.get("tags", []),
                "turns": [
                    {
                        "message": t.get("message"),
                        "reference_facts": t.get("expect_facts", []),
                        "expect": t.get("expect"),
                    }
                    for t in earlier
                ],
            }
        )
    return cases


@dataclass
class Dataset:
    name: str
    version: str
    cases: list[Case]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "cases": [c.model_dump(exclude_defaults=True) for c in self.cases],
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=110)


def validation_problem(error: ValidationError) -> tuple[tuple[Any, ...], str]:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return tuple(first["loc"]), f"{where}: {message}" if where else message


def line_of(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node along `path` (keys of mappings, indexes of sequences)."""
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == step), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _check_ids(cases: list[Case], lines: list[int], source: str) -> None:
    seen: dict[str, int] = {}
    for case, line in zip(cases, lines, strict=True):
        if case.id in seen:
            raise DatasetError(
                f"{source}:{line}: case id {case.id!r} repeats the case on line {seen[case.id]}"
            )
        seen[case.id] = line


def yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """The 1-based line and the gist of a YAML error: a syntax error has a mark; a character the
    reader refuses (a control character, say) has only its position in the text."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return (mark.line + 1 if mark else 1), str(exc.problem or exc.context or exc)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return line, f"unacceptable character {character}: {exc.reason}"
    return 1, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def parse_yaml(text: str, source: str) -> Dataset:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc, text)
        raise DatasetError(f"{source}:{line}: not valid YAML: {problem}") from None
    if root is None or not isinstance(data, dict):
        raise DatasetError(f"{source}:1: a dataset is a mapping with name, version and cases")
    if "dialogues" in data and "cases" not in data:
        try:
            data = {
                "name": data.get("name") or re.sub(r"[^\w.-]", "-", Path(source).stem),
                "version": data.get("version", 1),
                "cases": dialogue_cases(data["dialogues"]),
            }
        except (ValueError, AttributeError) as exc:
            raise DatasetError(f"{source}:{line_of(root, ('dialogues',))}: {exc}") from None
        root = yaml.compose(yaml.safe_dump(data))
    try:
        header = Header.model_validate(data)
    except ValidationError as exc:
        path, message = validation_problem(exc)
        raise DatasetError(f"{source}:{line_of(root, path)}: {message}") from None
    cases, lines = [], []
    for index, raw in enumerate(header.cases):
        line = line_of(root, ("cases", index))
        try:
            cases.append(Case.model_validate(raw))
        except ValidationError as exc:
            path, message = validation_problem(exc)
            line = line_of(root, ("cases", index, *path))
            raise DatasetError(f"{source}:{line}: case {index + 1}: {message}") from None
        lines.append(line)
    _check_ids(cases, lines, source)
    return Dataset(header.name, str(header.version), cases, header.description)


def parse_jsonl(text: str, source: str, name: str) -> Dataset:
    cases, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}:{number}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        try:
            cases.append(Case.model_validate(raw))
        except ValidationError as exc:
            raise DatasetError(f"{source}:{number}: {validation_problem(exc)[1]}") from None
        lines.append(number)
    _check_ids(cases, lines, source)
    return Dataset(name, "1", cases)


def parse(text: str, source: str, fmt: Literal["yaml", "jsonl"] = "yaml") -> Dataset:
    if fmt == "jsonl":
        return parse_jsonl(text, source, Path(source).stem)
    return parse_yaml(text, source)


def read_text(path: Path) -> str:
    """A dataset or gate file's text; an unreadable one is a DatasetError that names it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None


def load(path: Path | str) -> Dataset:
    """A dataset file (.yaml, .yml or .jsonl)."""
    path = Path(path)
    text = read_text(path)
    fmt: Literal["yaml", "jsonl"] = "jsonl" if path.suffix == ".jsonl" else "yaml"
    return parse(text, str(path), fmt)
