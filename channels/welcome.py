"""The welcome a customer gets on following an account (LINE, WeChat, Telegram, Viber) or opening a Viber
chat: the channel's own `welcome_message` (set when it was connected) if it has one, else the tenant's
(`welcome` in GET|PUT /v1/agent/settings, in English and Traditional Chinese) in the customer's language.

Viber lets a bot write to someone who opened its chat but has not subscribed exactly once, in the answer
to the conversation_started callback; a send_message to them is refused ("not subscribed"). So that
welcome goes in the webhook's answer (channels/webhook.py) and is recorded in the conversation as sent
(channels/platform_events.py); a follow's welcome is queued and sent like any automated inbox message.
The record is made by the ingest, moments after the answer, from the settings as they are then: a welcome
edited in between is recorded as the new text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.settings import AgentSettings
from channels.models import Channel
from core.language import tag_language

Settings = Callable[[str], AgentSettings]  # the tenant's agent settings (AgentSettingsStore.get)


def welcome_text(channel: Channel, settings: AgentSettings, language: str | None) -> str | None:
    """The text to welcome someone with on `channel`, or None (no welcome is set). `language`: what the
    platform says the customer's device speaks (a BCP 47 tag such as "zh-HK"), if it says."""
    own = channel.config.get("welcome_message")
    if isinstance(own, str) and own.strip():
        return own
    welcome = settings.welcome
    if welcome is None:
        return None
    preferred = tag_language(language) or (settings.languages[0] if settings.languages else "en")
    first, second = (welcome.zh, welcome.en) if preferred == "zh" else (welcome.en, welcome.zh)
    return first or second


def language_of(data: dict[str, Any]) -> str | None:
    found = data.get("language")
    return found if isinstance(found, str) else None
