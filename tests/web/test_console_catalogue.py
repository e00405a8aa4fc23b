"""Every console string exists in English and Traditional Chinese: each key the templates name, and each
key built from a section, role, status or notice."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from core.auth import ROLES
from core.staff.models import STAFF_ROLES
from crm.broadcasts.models import RecipientStatus, Status
from crm.broadcasts.store import MOVES
from inbox.handoff import STATUSES
from web.console import (
    agent_form,
    agent_routes,
    broadcast_form,
    broadcast_list_routes,
    broadcast_routes,
    channel_form,
    channel_routes,
    deps,
    evals_routes,
    inbox_view,
    knowledge_routes,
    settings_routes,
    team_routes,
)
from web.console.i18n import CATALOGUE, pick, translate
from web.console.nav import SECTIONS
from web.console.render import TEMPLATES

CODE = Path(__file__).resolve().parents[2] / "web" / "console"


def named_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*TEMPLATES.glob("*.html"), *CODE.glob("*.py")]:
        keys |= set(
            re.findall(r"""\bt(?:ranslate)?\((?:lang, )?['"]([a-z_]+\.[a-z_.]+)['"]""", path.read_text())
        )
    return {key for key in keys if not key.endswith(".")}  # 'nav.' + key: a prefix, see built_keys


def built_keys() -> set[str]:
    keys = {f"nav.{s.key}" for s in SECTIONS} | {f"role.{r}" for r in STAFF_ROLES}
    keys |= {f"status.{s}" for s in ("queued", "indexing", "ready", "failed")}
    keys |= {f"knowledge.kind.{k}" for k in knowledge_routes.REMOTE_KINDS}
    keys |= {f"notice.{n}" for n in (*knowledge_routes.NOTICES, *team_routes.NOTICES)}
    keys |= {f"notice.agent_{n}" for n in agent_routes.NOTICES}
    keys |= {f"agent.length.{n}" for n in agent_form.LENGTHS}
    keys |= {f"agent.lang.{n}" for n in agent_form.LANGUAGES}
    keys |= {f"agent.intent.{n}" for n in agent_form.INTENTS}
    keys |= {f"inbox.state.{n}" for n in inbox_view.STATES}
    keys |= {f"inbox.status.{n}" for n in STATUSES}
    keys |= {f"inbox.write.{n}" for n in inbox_view.WRITE_ACTIONS}
    keys |= {f"inbox.role.{n}" for n in ("customer", "agent", "human", "note")}
    keys |= {f"evals.status.{n}" for n in evals_routes.STATUSES}
    keys |= {f"evals.kind.{n}" for n in ("golden", "behaviour", "regression")}
    keys |= {f"evals.direction.{n}" for n in ("up", "down", "same", "new", "gone")}
    keys |= {f"notice.evals_{n}" for n in evals_routes.NOTICES}
    keys |= {
        "evals.gate_failed",
        "evals.verdict_fail",
        "evals.below",
        "evals.exported",
        "evals.nothing_exported",
        "evals.not_utf8",
        "evals.too_big",
    }
    keys |= {f"channels.{part}.{kind}" for part in ("kind", "intro", "steps") for kind in channel_form.KINDS}
    keys |= {f"channels.field.{i.name}" for kind in channel_form.KINDS for i in channel_form.inputs(kind)}
    keys |= {
        channel_form.hint_key(kind, i.name) for kind in channel_form.KINDS for i in channel_form.inputs(kind)
    }
    keys |= {"channels.field.bot_id", "channels.field.fallback_template", "channels.kind.livechat"}  # config
    keys |= {f"channels.state.{s}" for s in ("receiving", "waiting", "quiet")}
    keys |= {f"channels.events_state.{s}" for s in channel_routes.EVENT_STATES}
    keys |= {f"notice.channel_{n}" for n in (*channel_routes.NOTICES, *channel_routes.CHANNEL_NOTICES)}
    keys |= set(channel_form.MESSAGES.values())
    keys |= {f"err.{code}" for code in ("forbidden", deps.FORBIDDEN_ACTION)}  # ConsoleRoute's error pages
    keys |= {f"broadcast.{p}.{s}" for p in ("status", "about") for s in get_args(Status)}
    keys |= {f"recipient.status.{s}" for s in get_args(RecipientStatus)}
    keys |= {f"broadcast.op.{o}" for o in broadcast_form.OPERATORS}
    keys |= {f"broadcast.media.{k}" for k in broadcast_form.MEDIA_KINDS}
    keys |= {f"broadcast.do.{a}" for a in MOVES}
    keys |= {f"broadcast.route.{r}" for r in ("text", "media", "template")}
    keys |= {f"broadcast.metric.{m}" for m in ("sent", "delivered", "read", "replied", "failed", "skipped")}
    keys |= {"broadcast.metric.recipients", "broadcast.metric.waiting"}
    keys |= {f"notice.broadcast_{n}" for n in broadcast_routes.NOTICES}
    keys |= {f"notice.broadcasts_{n}" for n in broadcast_list_routes.NOTICES}
    keys |= {f"notice.settings_{n}" for n in settings_routes.NOTICES}
    keys |= {f"settings.key_role.{r}" for r in ROLES}
    keys |= {f"actor.{a}" for a in settings_routes.FIXED_ACTORS}
    return keys


def test_every_key_is_in_the_catalogue_in_both_languages() -> None:
    named = named_keys()
    assert len(named) > 50  # the scan finds the templates' keys
    missing = sorted((named | built_keys()) - CATALOGUE.keys())
    assert missing == []
    for key, (english, chinese) in CATALOGUE.items():
        assert english.strip() and chinese.strip(), key
        assert sorted(re.findall(r"\{(\w+)\}", english)) == sorted(re.findall(r"\{(\w+)\}", chinese)), key


def test_the_language_comes_from_the_switch_then_the_browser() -> None:
    assert pick("zh-Hant", "en-GB") == "zh-Hant"
    assert pick(None, "zh-HK,zh;q=0.9,en;q=0.8") == "zh-Hant"
    assert pick("klingon", "en-US") == "en"
    assert translate("zh-Hant", "knowledge.score", score="0.812") == "分數 0.812"
