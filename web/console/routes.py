"""The console's router: its pages, its two static files, the home page per role, `/` -> `/console`, and
the console's "not found" page for any other /console/<name>."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.errors import NotFound
from web.console import (
    agent_routes,
    auth_routes,
    broadcast_list_routes,
    broadcast_routes,
    channel_routes,
    contact_list_routes,
    contact_routes,
    eval_run_routes,
    evals_routes,
    import_routes,
    inbox_assist_routes,
    inbox_routes,
    knowledge_routes,
    settings_routes,
    team_routes,
    ticket_list_routes,
    ticket_routes,
    widget_routes,
)
from web.console.deps import UserDep
from web.console.nav import HOME
from web.console.render import secure_headers
from web.console.route_class import ConsoleRoute

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"console.css": "text/css", "console.js": "application/javascript"}

router = APIRouter(include_in_schema=False)
pages = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/")
def root() -> Response:
    return RedirectResponse("/console", status_code=307)


@router.get("/console/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:
        raise NotFound(f"no console file {name}")
    response = FileResponse(
        STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "public, max-age=300"}
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@pages.get("")
def home(user: UserDep) -> Response:
    return secure_headers(RedirectResponse(f"/console/{HOME[user.user.role]}", status_code=303))


@pages.get("/{section}")
def unknown(section: str, user: UserDep) -> Response:
    """Any other /console/<name>: the console's own "not found" page (after the pages' routes, below)."""
    raise NotFound(f"no console page {section}")


# The pages first: /console/{section} would otherwise answer for them.
router.include_router(auth_routes.router)
router.include_router(team_routes.router)
router.include_router(settings_routes.router)
router.include_router(knowledge_routes.router)
router.include_router(agent_routes.router)
# The widget's fixed paths before a channel's /console/channels/{channel_id}/....
router.include_router(widget_routes.router)
router.include_router(channel_routes.router)
router.include_router(inbox_routes.router)
router.include_router(inbox_assist_routes.router)
# The import's fixed path before a contact's /console/contacts/{contact_id}.
router.include_router(import_routes.router)
router.include_router(contact_list_routes.router)
router.include_router(contact_routes.router)
# The new ticket's fixed path before a ticket's /console/tickets/{ticket_id}.
router.include_router(ticket_list_routes.router)
router.include_router(ticket_routes.router)
router.include_router(evals_routes.router)
router.include_router(eval_run_routes.router)
# The new broadcast's and the live panel's fixed paths before a broadcast's /console/broadcasts/{broadcast_id}.
router.include_router(broadcast_list_routes.router)
router.include_router(broadcast_routes.router)
router.include_router(pages)
