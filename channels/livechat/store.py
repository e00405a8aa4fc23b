"""Widget keys, visitor sessions and HMAC identity verification (as Chatwoot's widget does it).

A widget key is public: it appears in the page's script tag and only allows chatting. A visitor
gets a random session token (kept by the browser) that maps to one contact and conversation.
A site that knows who its visitor is signs the visitor's identifier with the widget's identity
secret (HMAC-SHA256, computed on the site's server); a valid signature makes the visitor a known
contact whose conversation follows them across devices.

Opening a socket creates nothing: the contact, the conversation and the session's record are created with
the visitor's first message (`start`), so sockets opened without a word (50 connects made 50 contacts)
leave no trace. Until then the issued token is unknown to the database; a visitor who reloads before
writing simply gets a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from channels.livechat.models import Visitor, Widget
from core.audit import SYSTEM, AuditLog, changed
from core.auth import hash_key
from core.db import Database
from core.errors import Forbidden, Unauthorized
from core.signatures import matches
from inbox.models import Conversation
from inbox.store import ContactInfo, InboxStore


@dataclass(frozen=True)
class Session:
    tenant_id: str
    conversation_id: str | None  # None until the visitor's first message
    contact_id: str | None
    token: str | None  # set when a new token was issued
    visitor: str  # the token's hash: who this visitor is, for their turn budget
    external_id: str | None = None  # a verified visitor's identity


def _audited(widget: Widget) -> dict[str, Any]:
    return {"widget_key": widget.widget_key, "require_identity": widget.require_identity}


def identity_hash(secret: str, identifier: str) -> str:
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


class LivechatStore:
    def __init__(self, db: Database, inbox: InboxStore) -> None:
        self._db = db
        self._inbox = inbox

    def widget(self, tenant_id: str) -> Widget:
        """The tenant's widget (created on first use)."""
        with self._db.session() as session:
            widget = session.get(Widget, tenant_id)
            if widget is None:
                widget = Widget(
                    tenant_id=tenant_id,
                    widget_key="wk_" + secrets.token_urlsafe(18),
                    identity_secret=secrets.token_hex(32),
                    require_identity=False,
                )
                session.add(widget)
            return widget

    def update(
        self,
        tenant_id: str,
        *,
        actor: str = SYSTEM,
        require_identity: bool | None = None,
        rotate_key: bool = False,
    ) -> Widget:
        """Require a verified identity (or not), or give the widget a new key (the old one stops working
        at once); audited as `actor` (livechat_widget.update, the public key but never the secret)."""
        self.widget(tenant_id)
        with self._db.session() as session:
            widget = session.get(Widget, tenant_id)
            assert widget is not None
            before = _audited(widget)
            if require_identity is not None:
                widget.require_identity = require_identity
            if rotate_key:
                widget.widget_key = "wk_" + secrets.token_urlsafe(18)
            old, new = changed(before, _audited(widget))
            if new:
                AuditLog.record(
                    session,
                    tenant_id,
                    actor,
                    "livechat_widget.update",
                    "livechat_widget",
                    tenant_id,
                    old,
                    new,
                )
            return widget

    def tenant_for(self, widget_key: str) -> Widget:
        with self._db.session() as session:
            widget = session.scalar(select(Widget).where(Widget.widget_key == widget_key))
        if widget is None:
            raise Unauthorized("unknown widget key")
        return widget

    def open(
        self,
        widget_key: str,
        token: str | None,
        identifier: str | None = None,
        identifier_hash: str | None = None,
    ) -> Session:
        """Resume the visitor's session, or start one; verify the identity when one is claimed."""
        widget = self.tenant_for(widget_key)
        external_id = None
        if identifier or identifier_hash:
            expected = identity_hash(widget.identity_secret, identifier or "")
            if not identifier or not matches(identifier_hash, expected):
                raise Forbidden("identity verification failed: identifier_hash does not match the identifier")
            external_id = f"livechat:{identifier}"
        elif widget.require_identity:
            raise Forbidden("this widget requires a verified identity (identifier and identifier_hash)")
        with self._db.session() as session:
            if token:
                visitor = session.get(Visitor, hash_key(token))
                if visitor is not None and visitor.tenant_id == widget.tenant_id:
                    return Session(
                        widget.tenant_id,
                        visitor.conversation_id,
                        visitor.contact_id,
                        None,
                        visitor.token_hash,
                        external_id,
                    )
        new_token = "vt_" + secrets.token_urlsafe(24)
        fresh = Session(widget.tenant_id, None, None, new_token, hash_key(new_token), external_id)
        known = self._inbox.latest(widget.tenant_id, external_id, "livechat") if external_id else None
        # A verified visitor on another device continues their conversation at once (nothing is created).
        return self._bind(fresh, known) if known else fresh

    def start(self, session: Session) -> Session:
        """The visitor's first message: their contact and conversation (a verified visitor's latest one, if
        another device started it meanwhile) and the session's record. Idempotent for a token."""
        with self._db.session() as db:
            visitor = db.get(Visitor, session.visitor)
            if visitor is not None:
                return replace(
                    session, conversation_id=visitor.conversation_id, contact_id=visitor.contact_id
                )
        external_id = session.external_id
        known = self._inbox.latest(session.tenant_id, external_id, "livechat") if external_id else None
        conversation = known or self._inbox.open(
            session.tenant_id, None, ContactInfo(external_id=external_id), "livechat"
        )
        return self._bind(session, conversation)

    def _bind(self, session: Session, conversation: Conversation) -> Session:
        with self._db.session() as db:
            db.add(
                Visitor(
                    token_hash=session.visitor,
                    tenant_id=session.tenant_id,
                    contact_id=conversation.contact_id,
                    conversation_id=conversation.id,
                )
            )
        return replace(session, conversation_id=conversation.id, contact_id=conversation.contact_id)
