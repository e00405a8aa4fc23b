"""The CRM services one app instance holds (built once in app.py's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass

from core.audit import AuditLog
from core.db import Database
from crm.attributes import AttributeStore
from crm.contacts import ContactStore
from crm.importer import ContactImporter
from crm.leads import LeadStore
from crm.lists import ListStore
from crm.privacy import Privacy
from crm.tickets import TicketStore
from crm.views import ViewStore
from crm.working_hours import TenantHours


@dataclass
class CrmServices:
    audit: AuditLog
    attributes: AttributeStore
    contacts: ContactStore
    tickets: TicketStore
    privacy: Privacy
    leads: LeadStore
    lists: ListStore
    importer: ContactImporter
    views: ViewStore
    hours: TenantHours
    """Each tenant's working hours and time zone (kept in the ticket settings)."""

    @classmethod
    def build(cls, db: Database, audit: AuditLog) -> CrmServices:
        attributes = AttributeStore(db, audit)
        tickets = TicketStore(db, audit)
        return cls(
            audit=audit,
            attributes=attributes,
            contacts=ContactStore(db, attributes, audit),
            tickets=tickets,
            privacy=Privacy(db, audit),
            leads=LeadStore(db, audit),
            lists=ListStore(db, attributes, audit),
            importer=ContactImporter(db, attributes, audit),
            views=ViewStore(db),
            hours=TenantHours(lambda tenant_id: tickets.settings(tenant_id).working_hours),
        )
