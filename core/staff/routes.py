"""HTTP surface of staff accounts for integrations: users and invitations, with a tenant's admin API key.

The console (web/console/) does the same through the same service; both are audited (key:<id> here).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from config import Settings
from core.audit import key_actor
from core.deps import AdminDep, CoreDep, services_of
from core.staff.models import StaffInvitation, StaffRole, StaffUser

router = APIRouter(prefix="/v1/staff", tags=["staff"])


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    created_at: datetime

    @classmethod
    def of(cls, user: StaffUser) -> UserOut:
        return cls.model_validate(user, from_attributes=True)


class UserList(BaseModel):
    users: list[UserOut]


class RolePatch(BaseModel):
    role: StaffRole


class InvitationIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    role: StaffRole


class InvitationOut(BaseModel):
    id: str
    email: str
    role: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, invitation: StaffInvitation) -> InvitationOut:
        return cls.model_validate(invitation, from_attributes=True)


class InvitationCreated(InvitationOut):
    url: str = Field(description="The one-time link to send to the person; shown only now.")


class InvitationList(BaseModel):
    invitations: list[InvitationOut]


def invitation_url(request: Request, token: str) -> str:
    """The link's absolute URL: PARLEY_PUBLIC_URL when a proxy changes the address, else this request's."""
    settings = services_of(request.app).get(Settings)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/console/invite/{token}"


@router.get("/users", response_model=UserList)
def list_users(core: CoreDep, principal: AdminDep) -> UserList:
    return UserList(users=[UserOut.of(u) for u in core.staff.users.list(principal.tenant_id)])


@router.patch("/users/{user_id}", response_model=UserOut)
def change_role(user_id: str, body: RolePatch, core: CoreDep, principal: AdminDep) -> UserOut:
    """409 `last_admin` when it would leave the tenant without an admin."""
    actor = key_actor(principal.key_id)
    return UserOut.of(core.staff.users.change_role(principal.tenant_id, actor, user_id, body.role))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_user(user_id: str, core: CoreDep, principal: AdminDep) -> Response:
    core.staff.users.remove(principal.tenant_id, key_actor(principal.key_id), user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationCreated)
def invite(body: InvitationIn, request: Request, core: CoreDep, principal: AdminDep) -> InvitationCreated:
    """An invitation link for an e-mail address and a role (409 `email_taken` if it has an account)."""
    invited = core.staff.invitations.create(
        principal.tenant_id, key_actor(principal.key_id), body.email, body.role
    )
    return InvitationCreated(
        **InvitationOut.of(invited.invitation).model_dump(), url=invitation_url(request, invited.token)
    )


@router.get("/invitations", response_model=InvitationList)
def list_invitations(core: CoreDep, principal: AdminDep) -> InvitationList:
    pending = core.staff.invitations.pending(principal.tenant_id)
    return InvitationList(invitations=[InvitationOut.of(i) for i in pending])


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_invitation(invitation_id: str, core: CoreDep, principal: AdminDep) -> Response:
    core.staff.invitations.revoke(principal.tenant_id, key_actor(principal.key_id), invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
