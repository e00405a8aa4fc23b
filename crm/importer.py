"""Bulk contact import from CSV or XLSX: a column -> field mapping, a dry run, per-row errors that never reject
the good rows, and de-duplication by email and phone (within the file and against existing contacts).

Rows stream from the file and are written in batches, so memory stays flat however long the file is. The
import is one audited action (with its counts), not one audit entry per row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select

from core.audit import AuditLog
from core.db import Database
from core.errors import InvalidInput, ParleyError
from crm.attributes import AttributeDefinition, AttributeStore, coerce
from crm.contacts import FIELDS, normalise_email, normalise_phone, normalise_tags, phone_forms
from crm.models import Contact

BATCH = 500
MAX_ERRORS = 1000  # reported in full up to this many; the count is always exact
PREVIEW = 10


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)

    def error(self, row: int, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "message": message})


def read_rows(data: IO[bytes], filename: str) -> Generator[list[Any], None, None]:
    """The file's rows (header first), streamed: CSV in UTF-8 (with or without BOM), or an XLSX's first sheet."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(data, read_only=True, data_only=True)
        except Exception as exc:
            raise InvalidInput(f"{filename} is not a readable XLSX file ({type(exc).__name__})") from exc
        try:
            for row in book.worksheets[0].iter_rows(values_only=True):
                yield list(row)
        finally:
            book.close()
        return
    if not name.endswith(".csv"):
        raise InvalidInput(f"{filename}: import takes .csv or .xlsx files", code="unsupported_file_type")
    text = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{filename} is not UTF-8 text (save it as CSV UTF-8)") from exc
    finally:
        text.detach()


YES_NO = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}


class ContactImporter:
    def __init__(self, db: Database, attributes: AttributeStore, audit: AuditLog) -> None:
        self._db = db
        self._attributes = attributes
        self._audit = audit

    def _mapping(
        self, header: list[str], given: dict[str, str] | None, definitions: dict[str, AttributeDefinition]
    ) -> dict[int, str]:
        """Column index -> target ("email", "tags", "attributes.plan"); columns mapped to "" are skipped."""
        targets = {f: f for f in (*FIELDS, "tags", "opted_out")}
        targets |= {f"attributes.{k}": f"attributes.{k}" for k in definitions}
        by_name = {**targets, **{k: f"attributes.{k}" for k in definitions}}
        by_name |= {d.label.lower(): f"attributes.{k}" for k, d in definitions.items()}
        columns = {str(h or "").strip(): i for i, h in enumerate(header)}
        if given is not None:
            unknown_columns = sorted(set(given) - set(columns))
            if unknown_columns:
                raise InvalidInput(
                    f"mapping names column(s) {unknown_columns} not in the file's header {list(columns)}"
                )
            bad = sorted(t for t in given.values() if t and t not in targets)
            if bad:
                raise InvalidInput(
                    f"mapping target(s) {bad} unknown: use contact fields, tags or attributes.<key>"
                )
            return {columns[c]: t for c, t in given.items() if t}
        return {i: by_name[name.lower()] for name, i in columns.items() if name.lower() in by_name}

    @staticmethod
    def _clean(raw: dict[str, Any], definitions: dict[str, AttributeDefinition]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for target, value in raw.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if target.startswith("attributes."):
                key = target.removeprefix("attributes.")
                attributes[key] = coerce(definitions[key], value)
            elif target == "tags":
                fields["tags"] = normalise_tags([t for t in str(value).replace("|", ",").split(",")])
            elif target == "phone":
                fields["phone"] = normalise_phone(str(value))
            elif target == "email":
                fields["email"] = normalise_email(str(value))
            elif target == "opted_out":  # migrating from another tool keeps who asked not to be messaged
                said = str(value).strip().lower()
                if said not in YES_NO:
                    raise InvalidInput(f"opted_out is yes or no (true/false, 1/0); got {value!r}")
                fields["opted_out"] = YES_NO[said]
            else:
                fields[target] = str(value).strip()
        if attributes:
            fields["attributes"] = attributes
        if not fields:
            raise InvalidInput("the row has no values in mapped columns")
        return fields

    def run(
        self,
        tenant_id: str,
        actor: str,
        rows: Iterator[list[Any]],
        mapping: dict[str, str] | None = None,
        *,
        dry_run: bool = False,
        update_existing: bool = True,
    ) -> ImportReport:
        definitions = self._attributes.definitions(tenant_id)
        try:
            header = next(rows)
        except StopIteration:
            raise InvalidInput("the file is empty") from None
        columns = self._mapping([str(h or "") for h in header], mapping, definitions)
        if not columns:
            raise InvalidInput(f"no column maps to a contact field; header: {[str(h) for h in header]}")
        report = ImportReport(mapping={str(header[i]): t for i, t in columns.items()})
        seen: dict[str, int] = {}  # email/phone digits -> row that brought it
        batch: list[tuple[int, dict[str, Any]]] = []
        for number, row in enumerate(rows, start=2):  # row 1 is the header, as a spreadsheet counts
            if not any(v not in (None, "") for v in row):
                continue
            report.rows += 1
            try:
                fields = self._clean(
                    {t: row[i] if i < len(row) else None for i, t in columns.items()}, definitions
                )
            except ParleyError as exc:
                report.error(number, exc.message)
                continue
            keys = [k for k in (fields.get("email"), (fields.get("phone") or "").lstrip("+")) if k]
            earlier = next((seen[k] for k in keys if k in seen), None)
            if earlier is not None:
                report.skipped += 1
                report.error(number, f"duplicate of row {earlier} (same email or phone)")
                report.failed -= 1  # reported, but a duplicate is a skip, not a failure
                continue
            seen.update({k: number for k in keys})
            if len(report.preview) < PREVIEW:
                report.preview.append({"row": number, **fields})
            batch.append((number, fields))
            if len(batch) >= BATCH:
                self._write(tenant_id, batch, report, dry_run, update_existing)
                batch = []
        self._write(tenant_id, batch, report, dry_run, update_existing)
        if not dry_run:
            with self._db.session() as session:
                counts = {k: getattr(report, k) for k in ("rows", "created", "updated", "skipped", "failed")}
                self._audit.record(
                    session, tenant_id, actor, "contact.import", "contact", "import", None, counts
                )
        return report

    def _write(
        self,
        tenant_id: str,
        batch: list[tuple[int, dict[str, Any]]],
        report: ImportReport,
        dry_run: bool,
        update: bool,
    ) -> None:
        if not batch:
            return
        emails = [f["email"] for _, f in batch if f.get("email")]
        # as stored, with or without +, so the index serves it
        phones = [form for _, f in batch if f.get("phone") for form in phone_forms(f["phone"])]
        with self._db.session() as session:
            # Two lookups, one per index (an OR of two IN lists makes SQLite scan the table).
            existing = [
                *session.scalars(
                    select(Contact).where(Contact.tenant_id == tenant_id, Contact.email.in_(emails))
                ),
                *session.scalars(
                    select(Contact).where(Contact.tenant_id == tenant_id, Contact.phone.in_(phones))
                ),
            ]
            by_key: dict[str, Contact] = {}
            for contact in existing:
                by_key |= {k: contact for k in (contact.email, (contact.phone or "").lstrip("+")) if k}
            for _, fields in batch:
                match = next(
                    (
                        by_key[k]
                        for k in (fields.get("email"), (fields.get("phone") or "").lstrip("+"))
                        if k and k in by_key
                    ),
                    None,
                )
                if match is None:
                    report.created += 1
                    if not dry_run:
                        session.add(Contact(tenant_id=tenant_id, **{"tags": [], "attributes": {}, **fields}))
                elif not update:
                    report.skipped += 1
                else:
                    report.updated += 1
                    if not dry_run:
                        for key, value in fields.items():
                            if key == "attributes":
                                match.attributes = {**(match.attributes or {}), **value}
                            elif key == "tags":
                                match.tags = normalise_tags([*(match.tags or []), *value])
                            else:
                                setattr(match, key, value)
            if dry_run:
                session.rollback()
