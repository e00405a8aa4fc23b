"""The demo tenant: a fictional Hong Kong beauty salon whose knowledge the project writes itself.

`make run` (PARLEY_DEMO=true) creates it once: a bilingual FAQ (Markdown, shipped), a price list
(.xlsx, written here with openpyxl) and a policy document (.pdf, written here with fpdf2).
The benchmarks build on the same files.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from pathlib import Path

from core.audit import SYSTEM
from core.services import CoreServices
from knowledge.services import KnowledgeServices

log = logging.getLogger(__name__)

DEMO_TENANT = "Lotus Glow Beauty (demo)"
DEMO_ADMIN_EMAIL = "admin@lotus-glow.example"  # a reserved domain (RFC 2606): no real mailbox
FAQ_PATH = Path(__file__).parent / "demo_data" / "faq.md"

PRICE_HEADER = ["Code", "Treatment", "中文名稱", "Duration (min)", "Price (HK$)", "Lotus Club price (HK$)"]
PRICES: dict[str, list[list[object]]] = {
    "Facials": [
        ["F01", "Express Glow Facial", "亮肌速效面部護理", 30, 380, 340],
        ["F02", "Deep Hydrating Facial", "深層保濕面部護理", 60, 880, 790],
        ["F03", "Gold Lifting Facial", "黃金提升面部護理", 75, 1280, 1150],
        ["F04", "Acne Clarifying Facial", "暗瘡淨化面部護理", 60, 780, 700],
        ["F05", "Men's Deep Cleansing Facial", "男士深層清潔面部護理", 60, 680, 610],
        ["F06", "Pregnancy Gentle Facial", "孕婦溫和面部護理", 60, 720, 650],
    ],
    "Body & Nails": [
        ["B01", "Aromatherapy Back Massage", None, 45, 560, 500],
        ["B02", "Full Body Hot Stone Massage", None, 90, 1080, 970],
        ["N01", "Classic Manicure", None, 40, 220, 200],
        ["N02", "Gel Manicure", None, 60, 350, 320],
        ["N03", "Spa Pedicure", None, 60, 380, 340],
        ["L01", "Eyelash Lift", None, 50, 480, 430],
    ],
}

POLICY: list[tuple[str, list[str]]] = [
    (
        "Booking deposits",
        [
            "Bookings for treatments priced above HK$1,000 require a deposit of HK$200, paid by FPS when the "
            "booking is made. The deposit is deducted from the final bill.",
        ],
    ),
    (
        "Cancellation and rescheduling",
        [
            "Appointments can be cancelled or rescheduled free of charge up to 24 hours before the appointment time.",
            "Cancellations made less than 24 hours before the appointment forfeit the deposit. Customers who do not "
            "show up are charged 50% of the treatment price.",
        ],
    ),
    (
        "Refunds",
        [
            "Unused prepaid treatment packages can be refunded within 30 days of purchase, less an administration "
            "fee of 10%. Treatments that have already been received are not refundable.",
            "Unopened skincare products can be returned within 14 days with the receipt, in exchange for store credit.",
        ],
    ),
    (
        "Treatment packages",
        [
            "Treatment packages are valid for 12 months from the date of purchase. A package can be transferred once "
            "to a family member for a fee of HK$100.",
        ],
    ),
    (
        "Health and safety",
        [
            "Please tell your therapist about any medical condition, medication or allergy before your treatment. "
            "We may decline to treat skin with open wounds, sunburn or an active infection.",
            "Customers under 16 years old must be accompanied by a parent or guardian.",
        ],
    ),
    (
        "Severe weather",
        [
            "When Typhoon Signal No. 8 or a Black Rainstorm Warning is in force, the salon closes and all affected "
            "bookings are rescheduled free of charge.",
        ],
    ),
    (
        "Privacy",
        [
            "We keep customer records for 7 years after the last visit and never sell personal data. To see or delete "
            "your data, email privacy@lotusglow.hk.",
        ],
    ),
    (
        "Complaints",
        [
            "Send feedback or complaints to care@lotusglow.hk. A manager replies within 3 working days.",
        ],
    ),
]


def price_list_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    if workbook.active is not None:
        workbook.remove(workbook.active)
    for title, rows in PRICES.items():
        sheet = workbook.create_sheet(title)
        sheet.append(PRICE_HEADER if title == "Facials" else [h for h in PRICE_HEADER if h != "中文名稱"])
        for row in rows:
            sheet.append(row if title == "Facials" else [v for i, v in enumerate(row) if i != 2])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def policy_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Lotus Glow Beauty - Customer Policies", new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in POLICY:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return bytes(pdf.output())


def demo_files() -> dict[str, bytes]:
    return {
        "lotus-glow-faq.md": FAQ_PATH.read_bytes(),
        "lotus-glow-price-list.xlsx": price_list_xlsx(),
        "lotus-glow-policies.pdf": policy_pdf(),
    }


def _write_secret(path: Path, secret: str) -> None:
    """Replace the file with one only this user can read, from its first byte (no chmod afterwards)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def ensure_demo_tenant(core: CoreServices, knowledge: KnowledgeServices, data_dir: Path) -> str:
    """Create the demo tenant and upload its knowledge once; return its admin key (kept in the data dir)."""
    key_file = data_dir / "demo_tenant_key"
    tenant = core.tenants.find_by_name(DEMO_TENANT)
    if tenant is not None and key_file.exists():
        return key_file.read_text().strip()
    if tenant is None:
        tenant, key = core.tenants.create(DEMO_TENANT)
    else:  # the key file was lost: issue a fresh admin key
        _, key = core.keys.create(tenant.id, "admin", name="demo key")
    _write_secret(key_file, key)
    if not knowledge.sources.list(tenant.id):
        for name, data in demo_files().items():
            knowledge.sources.add_file(tenant.id, name, data)
        log.info("demo knowledge queued for indexing")
    return key


def ensure_demo_admin(core: CoreServices, tenant_key: str, data_dir: Path) -> tuple[str, str]:
    """The demo tenant's console admin: its e-mail address and password (generated once and kept in the data
    dir beside the keys; a lost password file gets a new password). Returns (email, password)."""
    password_file = data_dir / "demo_admin_password"
    tenant_id = core.keys.resolve(tenant_key).tenant_id
    user = core.staff.users.by_email(DEMO_ADMIN_EMAIL)
    if user is not None and password_file.exists():
        return DEMO_ADMIN_EMAIL, password_file.read_text().strip()
    password = secrets.token_urlsafe(12)
    if user is None:
        core.staff.create_user(tenant_id, SYSTEM, DEMO_ADMIN_EMAIL, "admin", password, name="Demo admin")
    else:
        core.staff.reset_password(user.tenant_id, SYSTEM, user.id, password)
    _write_secret(password_file, password)
    return DEMO_ADMIN_EMAIL, password
