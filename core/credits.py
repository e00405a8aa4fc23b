"""Credits: metered usage per tenant and calendar month (UTC), against the allowance of the tenant's plan.

Generic on purpose: callers name no feature, they spend credits. The allowance per plan comes from
settings (PARLEY_PLAN_CREDITS); a plan whose allowance is None is unlimited. Spending is a conditional
UPDATE (`used + n <= allowance`, retried with a smaller n when n does not fit), so concurrent calls on either
engine can never take the month past its allowance: the row lock (PostgreSQL) or the single writer
(SQLite) re-checks the condition for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.audit import AuditLog
from core.db import Base, Database, UTCDateTime, insert_ignoring_duplicates, new_id, utcnow
from core.errors import InvalidInput, NotFound, ParleyError
from core.models import Tenant

PLATFORM_ADMIN = "platform_admin"  # the audit actor for plan changes (made with the platform admin key)


class CreditsExhausted(ParleyError):
    """The month's allowance is spent (HTTP 402)."""

    code = "credits_exhausted"


class CreditUsage(Base):
    __tablename__ = "credit_usage"
    __table_args__ = (UniqueConstraint("tenant_id", "period", name="uq_credit_usage_period"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM", UTC
    used: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def period_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def next_reset(moment: datetime) -> datetime:
    """The first instant of the next calendar month (UTC): when the month's usage starts again at 0."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Balance:
    plan: str
    allowance: int | None  # None = unlimited
    used: int
    period: str
    resets_at: datetime

    @property
    def remaining(self) -> int | None:
        return None if self.allowance is None else max(0, self.allowance - self.used)

    def allows(self, n: int = 1) -> bool:
        return self.remaining is None or self.remaining >= n


class Credits:
    def __init__(
        self,
        db: Database,
        allowances: Mapping[str, int | None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self.allowances = dict(allowances)
        self.clock = clock  # tests move it to another month

    def plans(self) -> list[str]:
        return sorted(self.allowances)

    def set_plan(self, tenant_id: str, plan: str) -> Tenant:
        if plan not in self.allowances:
            raise InvalidInput(f"plan: unknown plan {plan!r}; configured plans: {', '.join(self.plans())}")
        with self._db.session() as session:
            tenant = session.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound(f"tenant {tenant_id} not found")
            if tenant.plan != plan:
                AuditLog.record(
                    session,
                    tenant_id,
                    PLATFORM_ADMIN,
                    "tenant.plan",
                    "tenant",
                    tenant_id,
                    {"plan": tenant.plan},
                    {"plan": plan},
                )
                tenant.plan = plan
            return tenant

    def balance(self, tenant_id: str) -> Balance:
        now = self.clock()
        with self._db.session() as session:
            plan = self._plan(session, tenant_id)
            used = self._used(session, tenant_id, period_of(now))
        return Balance(plan, self.allowances.get(plan, 0), used or 0, period_of(now), next_reset(now))

    def require(self, tenant_id: str, n: int = 1) -> Balance:
        """The balance, or CreditsExhausted when fewer than n credits remain (check before the work)."""
        balance = self.balance(tenant_id)
        if not balance.allows(n):
            raise CreditsExhausted(_exhausted_message(balance, self.allowances))
        return balance

    def spend(self, tenant_id: str, wanted: int) -> tuple[int, Balance]:
        """Spend up to `wanted` credits, never more than remain; returns (spent, balance after).

        Spending 0 (the allowance ran out between the check and now) raises CreditsExhausted."""
        now = self.clock()
        period = period_of(now)
        with self._db.session() as session:
            plan = self._plan(session, tenant_id)
            allowance = self.allowances.get(plan, 0)
            session.execute(
                insert_ignoring_duplicates(session, CreditUsage).values(
                    id=new_id(), tenant_id=tenant_id, period=period, used=0, updated_at=now
                )
            )
            spent, used = 0, None
            # Try the whole amount, then less: each attempt is atomic, and at most `wanted` are made.
            for n in range(wanted, 0, -1):
                statement = (
                    update(CreditUsage)
                    .where(CreditUsage.tenant_id == tenant_id, CreditUsage.period == period)
                    .values(used=CreditUsage.used + n, updated_at=now)
                    .returning(CreditUsage.used)
                )
                if allowance is not None:
                    statement = statement.where(CreditUsage.used + n <= allowance)
                used = session.scalar(statement)
                if used is not None:
                    spent = n
                    break
            if used is None:
                used = self._used(session, tenant_id, period)
        balance = Balance(plan, allowance, used or 0, period, next_reset(now))
        if wanted > 0 and spent == 0:
            raise CreditsExhausted(_exhausted_message(balance, self.allowances))
        return spent, balance

    @staticmethod
    def _used(session: Session, tenant_id: str, period: str) -> int | None:
        return session.scalar(
            select(CreditUsage.used).where(CreditUsage.tenant_id == tenant_id, CreditUsage.period == period)
        )

    @staticmethod
    def _plan(session: Session, tenant_id: str) -> str:
        plan = session.scalar(select(Tenant.plan).where(Tenant.id == tenant_id))
        if plan is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return plan


def _exhausted_message(balance: Balance, allowances: Mapping[str, int | None]) -> str:
    if balance.plan not in allowances:
        return (
            f"the tenant's plan {balance.plan!r} is not configured (PARLEY_PLAN_CREDITS), so it has no credits; "
            "ask the platform admin to move the tenant to a configured plan"
        )
    return (
        f"the {balance.plan} plan's {balance.allowance} credits for {balance.period} are used up; "
        f"they reset at {balance.resets_at:%Y-%m-%d %H:%M} UTC (a platform admin can change the plan)"
    )
