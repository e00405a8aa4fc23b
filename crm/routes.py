"""CRM over HTTP: custom attributes (/v1/attributes) and contacts (/v1/contacts) with tags, notes and a
timeline. Staff and admins work with contacts; defining attributes is for admins."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from core.audit import key_actor
from core.deps import AdminDep, PrincipalDep, provided
from core.errors import InvalidInput, LimitExceeded
from crm import spreadsheet
from crm.attributes import AttributeDefinition, AttributeType
from crm.contacts import FIELDS
from crm.importer import read_rows
from crm.leads import LeadScore, LeadSettings
from crm.models import Contact
from crm.services import CrmServices
from crm.views import ViewFilters

router = APIRouter(prefix="/v1", tags=["crm"])


CrmDep = Annotated[CrmServices, provided(CrmServices)]


# --- attributes -------------------------------------------------------------------------------------
class AttributeIn(BaseModel):
    key: str = Field(min_length=1, max_length=40, description="lowercase letters, digits and _")
    label: str = Field(min_length=1, max_length=100)
    type: AttributeType
    options: list[str] = Field(default_factory=list, max_length=200)


class AttributeOut(BaseModel):
    key: str
    label: str
    type: str
    options: list[str]

    @classmethod
    def of(cls, d: AttributeDefinition) -> AttributeOut:
        return cls(key=d.key, label=d.label, type=d.type, options=d.options)


@router.post("/attributes", status_code=status.HTTP_201_CREATED, response_model=AttributeOut)
def create_attribute(body: AttributeIn, principal: AdminDep, crm: CrmDep) -> AttributeOut:
    actor = key_actor(principal.key_id)
    return AttributeOut.of(
        crm.attributes.create(principal.tenant_id, actor, body.key, body.label, body.type, body.options)
    )


@router.get("/attributes", response_model=list[AttributeOut])
def list_attributes(principal: PrincipalDep, crm: CrmDep) -> list[AttributeOut]:
    return [AttributeOut.of(d) for d in crm.attributes.all(principal.tenant_id)]


@router.delete("/attributes/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attribute(key: str, principal: AdminDep, crm: CrmDep) -> Response:
    crm.attributes.delete(principal.tenant_id, key_actor(principal.key_id), key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- contacts ---------------------------------------------------------------------------------------
class ContactFields(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently dropped

    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200, description="display name, if not first + last")
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=320)
    country: str | None = Field(default=None, max_length=60)
    company: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    owner: str | None = Field(
        default=None, max_length=200, description="the staff member who owns the contact"
    )
    tags: list[str] | None = Field(default=None, max_length=50)
    attributes: dict[str, Any] | None = Field(default=None, description="custom attributes by key")
    opted_out: bool | None = Field(default=None, description="true: never send this contact a broadcast")


class ContactOut(BaseModel):
    id: str
    first_name: str | None
    last_name: str | None
    name: str | None
    phone: str | None
    email: str | None
    country: str | None
    company: str | None
    job_title: str | None
    owner: str | None
    tags: list[str]
    attributes: dict[str, Any]
    created_at: datetime
    last_contacted_at: datetime | None
    lead_score: int | None
    opted_out: bool

    @classmethod
    def of(cls, c: Contact) -> ContactOut:
        return cls(
            id=c.id,
            **{field: getattr(c, field) for field in FIELDS},
            tags=list(c.tags or []),
            attributes=dict(c.attributes or {}),
            created_at=c.created_at,
            last_contacted_at=c.last_contacted_at,
            lead_score=c.lead_score,
            opted_out=bool(c.opted_out),
        )


class ContactList(BaseModel):
    items: list[ContactOut]
    total: int


class TagsIn(BaseModel):
    tags: list[str] = Field(min_length=1, max_length=50)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class Note(Protocol):
    """A contact's, a ticket's or a conversation's note row."""

    @property
    def id(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class NoteOut(BaseModel):
    """A staff note on a contact, a ticket or a conversation (crm/ticket_routes.py, inbox/routes.py)."""

    id: str
    author: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, n: Note) -> NoteOut:
        return cls(id=n.id, author=n.author, text=n.text, created_at=n.created_at)


@router.post("/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactOut)
def create_contact(body: ContactFields, principal: PrincipalDep, crm: CrmDep) -> ContactOut:
    fields = body.model_dump(exclude_unset=True)
    return ContactOut.of(crm.contacts.create(principal.tenant_id, key_actor(principal.key_id), fields))


@router.get("/contacts", response_model=ContactList)
def list_contacts(
    request: Request,
    principal: PrincipalDep,
    crm: CrmDep,
    q: Annotated[
        str | None, Query(max_length=200, description="name, email, phone or company contains")
    ] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    list_id: Annotated[str | None, Query(alias="list", max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ContactList:
    """Custom attributes filter as `attr.<key>=<value>` (e.g. `attr.plan=premium`); `list` = a list's id."""
    attributes = {
        k.removeprefix("attr."): v for k, v in request.query_params.items() if k.startswith("attr.")
    }
    filters = ViewFilters(q=q, tag=tag, owner=owner, attributes=attributes, list_id=list_id)
    return find_contacts(crm, principal.tenant_id, filters, limit, offset)


def find_contacts(
    crm: CrmServices, tenant_id: str, filters: ViewFilters, limit: int, offset: int
) -> ContactList:
    """Contacts matching a set of filters (a request's, or a saved view's)."""
    ids = {c.id for c in crm.lists.members(tenant_id, filters.list_id)} if filters.list_id else None
    page = crm.contacts.search(
        tenant_id,
        q=filters.q,
        tag=filters.tag,
        owner=filters.owner,
        attributes=filters.attributes,
        ids=ids,
        limit=limit,
        offset=offset,
    )
    return ContactList(items=[ContactOut.of(c) for c in page.items], total=page.total)


MAX_IMPORT_BYTES = 200 * 1024 * 1024


@router.post("/contacts/import")
async def import_contacts(request: Request, principal: AdminDep, crm: CrmDep) -> dict[str, Any]:
    """Multipart: `file` (.csv or .xlsx, header row first), `mapping` (JSON {"column": "email" |
    "attributes.plan" | "" to skip}; default: columns named like a field or attribute), `dry_run`
    (true: report only), `on_duplicate` (update | skip; matched by email or phone)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("multipart upload needs a `file` field holding a .csv or .xlsx file")
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        raise LimitExceeded(
            f"an import file may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB", code="size_limit"
        )
    try:
        mapping = json.loads(str(form["mapping"])) if form.get("mapping") else None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"mapping is not JSON: {exc.msg}") from exc
    if mapping is not None and not (
        isinstance(mapping, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    ):
        raise InvalidInput('mapping is a JSON object of column name -> target, e.g. {"E-mail": "email"}')
    on_duplicate = str(form.get("on_duplicate") or "update")
    if on_duplicate not in ("update", "skip"):
        raise InvalidInput("on_duplicate is update or skip")
    dry_run = str(form.get("dry_run") or "false").lower() in ("true", "1", "yes")
    rows = read_rows(upload.file, upload.filename or "upload")
    report = await run_in_threadpool(
        crm.importer.run,
        principal.tenant_id,
        key_actor(principal.key_id),
        rows,
        mapping,
        dry_run=dry_run,
        update_existing=on_duplicate == "update",
    )
    return {"dry_run": dry_run, **vars(report)}


@router.get("/contacts/export.csv", response_class=StreamingResponse)
def export_contacts(principal: AdminDep, crm: CrmDep) -> StreamingResponse:
    """Every contact as CSV (UTF-8 with a BOM, so Excel reads Chinese correctly): the built-in fields, tags
    (separated by |), opted_out (yes/no, as the importer reads it) and one column per custom attribute;
    streamed 500 rows at a time from one query."""
    return contacts_csv(crm, principal.tenant_id)


def contacts_csv(crm: CrmServices, tenant_id: str) -> StreamingResponse:
    """The export's response (the console's download gives the same file)."""
    keys = [d.key for d in crm.attributes.all(tenant_id)]
    header = ["id", *FIELDS, "tags", "opted_out", "lead_score", "created_at", "last_contacted_at", *keys]

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        for n, c in enumerate(crm.contacts.each(tenant_id), start=1):
            attrs = c.attributes or {}
            values = ["|".join(v) if isinstance(v, list) else v for v in (attrs.get(k) for k in keys)]
            last = c.last_contacted_at.isoformat() if c.last_contacted_at else ""
            tags = "|".join(c.tags or [])
            row = [
                c.id,
                *(getattr(c, f) for f in FIELDS),
                tags,
                "yes" if c.opted_out else "no",
                c.lead_score,
                c.created_at.isoformat(),
                last,
                *values,
            ]
            writer.writerow([spreadsheet.cell(value) for value in row])
            if n % 500 == 0:  # hand the client a chunk, keep the buffer small
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    headers = {"Content-Disposition": 'attachment; filename="contacts.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: str, principal: PrincipalDep, crm: CrmDep) -> ContactOut:
    return ContactOut.of(crm.contacts.get(principal.tenant_id, contact_id))


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
def update_contact(contact_id: str, body: ContactFields, principal: PrincipalDep, crm: CrmDep) -> ContactOut:
    patch = body.model_dump(exclude_unset=True)
    actor = key_actor(principal.key_id)
    return ContactOut.of(crm.contacts.update(principal.tenant_id, actor, contact_id, patch))


@router.delete("/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_contact(contact_id: str, principal: AdminDep, crm: CrmDep) -> Response:
    crm.contacts.delete(principal.tenant_id, key_actor(principal.key_id), contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/contacts/{contact_id}/export")
def export_contact(contact_id: str, principal: AdminDep, crm: CrmDep) -> dict[str, Any]:
    """GDPR access: everything held about the contact (fields, notes, conversations, tickets, changes)."""
    return crm.privacy.export(principal.tenant_id, contact_id)


@router.post("/contacts/{contact_id}/erase")
def erase_contact(contact_id: str, principal: AdminDep, crm: CrmDep) -> dict[str, Any]:
    """GDPR erasure: the contact and everything personal about them; recorded in the audit log."""
    counts = crm.privacy.erase(principal.tenant_id, key_actor(principal.key_id), contact_id)
    return {"erased": contact_id, "removed": counts}


class LeadOut(BaseModel):
    score: int | None
    history: list[dict[str, Any]]


@router.get("/leads/settings", response_model=LeadSettings)
def get_lead_settings(principal: PrincipalDep, crm: CrmDep) -> LeadSettings:
    return crm.leads.settings(principal.tenant_id)


@router.put("/leads/settings", response_model=LeadSettings)
def put_lead_settings(body: LeadSettings, principal: AdminDep, crm: CrmDep) -> LeadSettings:
    return crm.leads.save_settings(principal.tenant_id, key_actor(principal.key_id), body)


@router.get("/contacts/{contact_id}/lead", response_model=LeadOut)
def get_lead(contact_id: str, principal: PrincipalDep, crm: CrmDep) -> LeadOut:
    """The contact's lead score and its history, newest first, each with its reasons."""
    history = crm.leads.history(principal.tenant_id, contact_id)
    rows = [
        {"score": h.score, "reasons": h.reasons, "actor": h.actor, "at": h.at.isoformat()} for h in history
    ]
    return LeadOut(score=history[0].score if history else None, history=rows)


@router.post("/contacts/{contact_id}/lead", response_model=LeadScore)
def score_lead(contact_id: str, principal: PrincipalDep, crm: CrmDep) -> LeadScore:
    """Score the contact again from everything they wrote and their attributes."""
    return crm.leads.score(principal.tenant_id, key_actor(principal.key_id), contact_id)


@router.post("/contacts/{contact_id}/tags", response_model=ContactOut)
def add_tags(contact_id: str, body: TagsIn, principal: PrincipalDep, crm: CrmDep) -> ContactOut:
    actor = key_actor(principal.key_id)
    return ContactOut.of(crm.contacts.add_tags(principal.tenant_id, actor, contact_id, body.tags))


@router.delete("/contacts/{contact_id}/tags/{tag}", response_model=ContactOut)
def remove_tag(contact_id: str, tag: str, principal: PrincipalDep, crm: CrmDep) -> ContactOut:
    actor = key_actor(principal.key_id)
    return ContactOut.of(crm.contacts.remove_tag(principal.tenant_id, actor, contact_id, tag))


@router.post("/contacts/{contact_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NoteOut)
def add_note(contact_id: str, body: NoteIn, principal: PrincipalDep, crm: CrmDep) -> NoteOut:
    actor = key_actor(principal.key_id)
    return NoteOut.of(crm.contacts.add_note(principal.tenant_id, actor, contact_id, body.text))


@router.get("/contacts/{contact_id}/notes", response_model=list[NoteOut])
def list_notes(contact_id: str, principal: PrincipalDep, crm: CrmDep) -> list[NoteOut]:
    return [NoteOut.of(n) for n in crm.contacts.notes(principal.tenant_id, contact_id)]


@router.get("/contacts/{contact_id}/timeline")
def timeline(
    contact_id: str,
    principal: PrincipalDep,
    crm: CrmDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, list[dict[str, Any]]]:
    """Messages, staff notes and changes (attributes, tags, tickets), newest first."""
    return {"entries": crm.contacts.timeline(principal.tenant_id, contact_id, limit)}
