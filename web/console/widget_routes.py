"""The live-chat widget's forms on the Channels page (admins): require verified visitors or not, and a new
widget key. Both change the widget through the same widget_out as PUT /v1/livechat/widget, audited as the
signed-in user; the page itself is channel_routes.py's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from channels.livechat.routes import LivechatDep, widget_out
from core.audit import user_actor
from core.staff.sessions import SignedIn
from web.console.channel_routes import SettingsDep
from web.console.deps import section_poster
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/channels/widget", route_class=ConsoleRoute, include_in_schema=False)
SectionPostedDep = Annotated[SignedIn, section_poster("channels")]
FormStr = Annotated[str, Form()]


@router.post("/identity")
def widget_identity(
    request: Request,
    livechat: LivechatDep,
    settings: SettingsDep,
    user: SectionPostedDep,
    require_identity: FormStr = "",
) -> Response:
    """Require a verified identity of every visitor (an unticked box is not sent: not required)."""
    actor = user_actor(user.user.id)
    widget_out(
        request, settings, livechat, user.user.tenant_id, actor=actor, require_identity=bool(require_identity)
    )
    return RedirectResponse("/console/channels?notice=widget_saved#widget", status_code=303)


@router.post("/rotate")
def widget_rotate(
    request: Request, livechat: LivechatDep, settings: SettingsDep, user: SectionPostedDep
) -> Response:
    """A new widget key (PUT /v1/livechat/widget {"rotate_key": true}): the old one stops at once."""
    widget_out(
        request, settings, livechat, user.user.tenant_id, actor=user_actor(user.user.id), rotate_key=True
    )
    return RedirectResponse("/console/channels?notice=widget_rotated#widget", status_code=303)
