"""The Settings page (admins): the tenant's API keys (create one, its secret shown once; revoke one), its plan
and this month's Smart Reply / Writing Assistant credits, and the audit log newest first, filtered by actor
and action, page by page. Users and roles are the Team page's (linked from here).

Every action calls what the /v1 routes call: keys are listed, created and revoked by core.keys (the store
behind /v1/api-keys, validated by the same KeyIn), audited as the signed-in user; the credits are
assist.credits.balance (GET /v1/assist/credits); the log is core.audit.list and count (GET /v1/audit).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from agent.assist.routes import AssistDep
from core.audit import AGENT, CUSTOMER, SYSTEM, AuditEvent, key_actor, user_actor
from core.auth import ROLES
from core.credits import PLATFORM_ADMIN
from core.deps import CoreDep
from core.routes import KeyIn
from core.staff.sessions import SignedIn
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import validation_errors
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute
from web.console.staff_choices import Choice, describer

router = APIRouter(prefix="/console/settings", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("settings")]
SectionPostedDep = Annotated[SignedIn, section_poster("settings")]
FormStr = Annotated[str, Form()]
NOTICES = ("key_revoked",)
PAGE = 50
FIXED_ACTORS = (AGENT, SYSTEM, CUSTOMER, PLATFORM_ADMIN)  # who acts without being a user or a key


def _shown(value: Any) -> str:
    """A field's value as text: a string as it is, nothing as a dash, anything else as JSON."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field an entry names, in the order of the fields' names; the page
    shows `before` only for an entry that has one (a creation has none)."""
    before, after = event.before or {}, event.after or {}
    return [(name, _shown(before.get(name)), _shown(after.get(name))) for name in sorted(before | after)]


def _page(
    request: Request,
    core: CoreDep,
    assist: AssistDep,
    user: SignedIn,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    notice = request.query_params.get("notice")
    credits = assist.credits
    return render(
        request,
        "settings.html",
        user=user,
        section="settings",
        tab="general",
        status_code=status_code,
        keys=core.keys.list(tenant),
        users=len(core.staff.users.list(tenant)),
        balance=credits.balance(tenant),
        plans=sorted(credits.allowances.items(), key=lambda plan: (plan[1] is None, plan[1] or 0)),
        roles=ROLES,
        notice=translate(cookies.lang(request), f"notice.settings_{notice}") if notice in NOTICES else None,
        **{"errors": {}, "key_name": "", "key_role": "staff", **context},
    )


@router.get("")
def settings(request: Request, core: CoreDep, assist: AssistDep, user: SectionDep) -> Response:
    return _page(request, core, assist, user)


@router.post("/api-keys")
def create_key(
    request: Request,
    core: CoreDep,
    assist: AssistDep,
    user: SectionPostedDep,
    name: FormStr = "",
    role: FormStr = "",
) -> Response:
    """As POST /v1/api-keys; the page it returns is the only one that ever shows the key."""
    values = {"name": name.strip(), "role": role}
    try:
        body = KeyIn.model_validate(values)
    except ValidationError as exc:
        errors = validation_errors(exc)
        return _page(request, core, assist, user, 422, errors=errors, key_name=name, key_role=role)
    row, secret = core.keys.create(user.user.tenant_id, body.role, body.name, actor=user_actor(user.user.id))
    return _page(request, core, assist, user, created=row, secret=secret)


@router.post("/api-keys/{key_id}/revoke")
def revoke_key(key_id: str, core: CoreDep, user: SectionPostedDep) -> Response:
    """As DELETE /v1/api-keys/{id}: the key stops working at once (404 for another tenant's key)."""
    core.keys.revoke(user.user.tenant_id, key_id, actor=user_actor(user.user.id))
    return RedirectResponse("/console/settings?notice=key_revoked#api-keys", status_code=303)


@router.get("/audit")
def audit(
    request: Request,
    core: CoreDep,
    user: SectionDep,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """GET /v1/audit's entries, newest first, PAGE at a time, with the total to page through."""
    tenant = user.user.tenant_id
    actor, action = actor.strip(), action.strip()
    filters = {"actor": actor or None, "action": action or None}
    total = core.audit.count(tenant, **filters)
    events = core.audit.list(tenant, **filters, limit=PAGE, offset=(page - 1) * PAGE)
    users = core.staff.users.list(tenant)
    keys = core.keys.list(tenant)
    who = describer(users, cookies.lang(request), keys)
    actors = [Choice(user_actor(u.id), who(user_actor(u.id))) for u in users]
    actors += [Choice(key_actor(k.id), who(key_actor(k.id))) for k in keys]
    actors += [Choice(name, who(name)) for name in FIXED_ACTORS]
    if actor and actor not in {c.value for c in actors}:  # a removed user's, say: still filterable
        actors.insert(0, Choice(actor, who(actor)))
    kept = {name: value for name, value in (("actor", actor), ("action", action)) if value}
    return render(
        request,
        "settings_audit.html",
        user=user,
        section="settings",
        tab="audit",
        events=events,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        link=lambda to: "/console/settings/audit?" + urlencode({**kept, "page": to}),
        filter_link=lambda **by: "/console/settings/audit?" + urlencode(by),
        given={"actor": actor, "action": action},
        actors=actors,
        who=who,
        changes=changes,
    )
