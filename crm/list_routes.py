"""Contact lists (/v1/lists: static lists with members, condition lists evaluated on read) and saved views
(/v1/views: named contact filters) over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from core.audit import key_actor
from core.deps import PrincipalDep
from crm.lists import Condition, ContactList
from crm.routes import ContactList as ContactPage
from crm.routes import ContactOut, CrmDep, find_contacts
from crm.views import SavedView, ViewFilters

router = APIRouter(prefix="/v1", tags=["crm"])


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["static", "condition"] = "static"
    conditions: list[Condition] = Field(default_factory=list, max_length=20)


class ListOut(BaseModel):
    id: str
    name: str
    kind: str
    conditions: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, c: ContactList) -> ListOut:
        return cls(id=c.id, name=c.name, kind=c.kind, conditions=c.conditions, created_at=c.created_at)


class MembersIn(BaseModel):
    contact_ids: list[str] = Field(min_length=1, max_length=1000)


@router.post("/lists", status_code=status.HTTP_201_CREATED, response_model=ListOut)
def create_list(body: ListIn, principal: PrincipalDep, crm: CrmDep) -> ListOut:
    actor = key_actor(principal.key_id)
    return ListOut.of(crm.lists.create(principal.tenant_id, actor, body.name, body.kind, body.conditions))


@router.get("/lists", response_model=list[ListOut])
def list_lists(principal: PrincipalDep, crm: CrmDep) -> list[ListOut]:
    return [ListOut.of(c) for c in crm.lists.all(principal.tenant_id)]


@router.get("/lists/{list_id}", response_model=ListOut)
def get_list(list_id: str, principal: PrincipalDep, crm: CrmDep) -> ListOut:
    return ListOut.of(crm.lists.get(principal.tenant_id, list_id))


@router.delete("/lists/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_list(list_id: str, principal: PrincipalDep, crm: CrmDep) -> Response:
    crm.lists.delete(principal.tenant_id, key_actor(principal.key_id), list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/lists/{list_id}/contacts", response_model=ContactPage)
def members(list_id: str, principal: PrincipalDep, crm: CrmDep) -> ContactPage:
    """A static list's members, or whoever matches a condition list's conditions now."""
    contacts = crm.lists.members(principal.tenant_id, list_id)
    return ContactPage(items=[ContactOut.of(c) for c in contacts], total=len(contacts))


@router.post("/lists/{list_id}/contacts")
def add_members(list_id: str, body: MembersIn, principal: PrincipalDep, crm: CrmDep) -> dict[str, int]:
    added = crm.lists.add(principal.tenant_id, key_actor(principal.key_id), list_id, body.contact_ids)
    return {"added": added}


@router.delete("/lists/{list_id}/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(list_id: str, contact_id: str, principal: PrincipalDep, crm: CrmDep) -> Response:
    crm.lists.remove(principal.tenant_id, key_actor(principal.key_id), list_id, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class ViewIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    filters: ViewFilters


class ViewOut(BaseModel):
    id: str
    name: str
    filters: ViewFilters

    @classmethod
    def of(cls, v: SavedView) -> ViewOut:
        return cls(id=v.id, name=v.name, filters=ViewFilters.model_validate(v.filters))


@router.post("/views", status_code=status.HTTP_201_CREATED, response_model=ViewOut)
def create_view(body: ViewIn, principal: PrincipalDep, crm: CrmDep) -> ViewOut:
    if body.filters.list_id:
        crm.lists.get(principal.tenant_id, body.filters.list_id)  # 404 for a list that is not the tenant's
    return ViewOut.of(crm.views.create(principal.tenant_id, body.name, body.filters))


@router.get("/views", response_model=list[ViewOut])
def list_views(principal: PrincipalDep, crm: CrmDep) -> list[ViewOut]:
    return [ViewOut.of(v) for v in crm.views.all(principal.tenant_id)]


@router.delete("/views/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_view(view_id: str, principal: PrincipalDep, crm: CrmDep) -> Response:
    crm.views.delete(principal.tenant_id, view_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/views/{view_id}/contacts", response_model=ContactPage)
def view_contacts(
    view_id: str,
    principal: PrincipalDep,
    crm: CrmDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ContactPage:
    """The contacts the view's filters select now."""
    view = crm.views.get(principal.tenant_id, view_id)
    return find_contacts(crm, principal.tenant_id, ViewFilters.model_validate(view.filters), limit, offset)
