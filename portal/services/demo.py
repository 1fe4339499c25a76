"""The demo merchant: one of every kind of document, dated around today."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from babel.numbers import format_currency
from PIL import Image, ImageDraw
from sqlalchemy import select

from portal.domain.invoices import Line
from portal.domain.late_fees import LateFeePolicy
from portal.domain.money import Money
from portal.domain.parties import Address
from portal.extensions import db
from portal.models import Customer, Merchant, StaffUser
from portal.services import (
    access,
    billing,
    comment_inbox,
    comments,
    credit_notes,
    customers,
    invoices,
    links,
    merchants,
    reminders,
)
from portal.services.errors import NotFound

DEMO_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.example"


@dataclass(frozen=True)
class DemoLogins:
    portal_url: str
    admin_email: str
    admin_password: str | None
    api_key: str | None
    created: bool


def _logo() -> bytes:
    """Draw a small PNG mark so the demo shows branding without shipping a binary."""
    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 152, 152), radius=32, fill="#0f766e")
    draw.ellipse((48, 48, 112, 112), fill="#fbbf24")
    draw.pieslice((48, 48, 112, 112), start=200, end=340, fill="#fde68a")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _lines(*items: tuple) -> list[Line]:
    """Build lines from (description, quantity, unit amount, rate, discount[, category]) tuples."""
    return [
        Line(
            description=d,
            quantity=Decimal(q),
            unit_amount=u,
            tax_rate=Decimal(t),
            discount_percent=Decimal(p),
            tax_category=category[0] if category else None,
        )
        for d, q, u, t, p, *category in items
    ]


def load_demo() -> DemoLogins:
    """Create the demo merchant with customers and invoices in every state, once."""
    existing = db.session.scalar(select(Merchant).where(Merchant.slug == DEMO_SLUG))
    if existing is not None:
        jane = db.session.scalar(select(Customer).where(Customer.merchant_id == existing.id).order_by(Customer.id))
        return DemoLogins(links.make_portal_link(jane).url, DEMO_ADMIN_EMAIL, None, None, created=False)

    merchant = merchants.create_merchant(name="Atelier Lumen", slug=DEMO_SLUG, timezone="Europe/Brussels")
    merchant.logo_png = _logo()
    merchant.primary_color = "#0f766e"
    merchant.accent_color = "#b45309"
    # A Belgian company: what every document prints as the seller (VAT Directive art. 226).
    merchants.set_company(
        merchant,
        legal_name="Atelier Lumen SRL",
        address=Address("Rue Haute 112", None, "1000", "Bruxelles", "BE"),
        email="billing@demo.example",
        vat_number="BE0712345630",
        company_number="0712.345.630",
        phone="+32 2 512 34 56",
        website="https://lumen.demo.example",
        iban="BE68 5390 0754 7034",
        bic="GKCCBEBB",
    )
    merchant.terms = (
        "Payment within 30 days. Late payments bear interest and a fixed recovery fee (Directive 2011/7/EU)."
    )
    # The SPEC's policy: 12 %/year, a fixed 40.00 EUR fee, no grace days.
    merchants.set_late_fee_policy(merchant, LateFeePolicy(Decimal("12"), Decimal("0"), 4000, 0))
    password = secrets.token_urlsafe(12)
    admin = merchants.create_staff_user(merchant, email=DEMO_ADMIN_EMAIL, name="Demo Admin", password=password)
    _, api_key = merchants.create_api_key(merchant, name="demo")

    # Two private customers and two companies; Lena's company in Germany gets reverse-charged invoices.
    jane = customers.create_customer(
        merchant,
        name="Jane Cooper",
        email="jane@customer.example",
        language="en",
        address=Address("Avenue Louise 54", "Box 3", "1050", "Ixelles", "BE"),
    )
    camille = customers.create_customer(
        merchant,
        name="Camille Martin",
        email="camille@client.example",
        language="fr",
        address=Address("Rue Saint-Gilles 30", None, "4000", "Liège", "BE"),
    )
    daan = customers.create_customer(
        merchant,
        name="Daan de Vries",
        email="daan@klant.example",
        language="nl",
        company="De Vries Architecten BV",
        address=Address("Korenmarkt 12", None, "9000", "Gent", "BE"),
        vat_number="BE0836542153",
        company_number="0836.542.153",
    )
    lena = customers.create_customer(
        merchant,
        name="Lena Schmidt",
        email="lena@kunde.example",
        language="de",
        company="Schmidt Design GmbH",
        address=Address("Torstraße 140", None, "10119", "Berlin", "DE"),
        vat_number="DE314159262",
        company_number="Berlin (Charlottenburg) HRB 214789 B",
    )

    today = merchant.today()
    # Vocational training is exempt from VAT (art. 44 of the Belgian VAT code): its wording shows.
    design = _lines(("Brand identity training (vocational)", "1", 100000, "0", "0", "E"))
    web = _lines(
        ("Website design", "1", 180000, "21", "0"),
        ("Hosting, 12 months", "12", 1500, "21", "10"),
        ("Printed brochure", "250", 120, "6", "0"),
    )
    # For a business in another member state: services reverse charged (AE), goods shipped there
    # an intra-Community supply (K); no Belgian VAT on either.
    web_abroad = _lines(
        ("Website design", "1", 180000, "0", "0", "AE"),
        ("Hosting, 12 months", "12", 1500, "0", "10", "AE"),
        ("Printed brochure, shipped to Berlin", "250", 120, "0", "0", "K"),
    )
    design_abroad = _lines(("Brand identity workshop", "1", 100000, "0", "0", "AE"))

    def issue(customer, lines, days_ago: int, term: int = 30, *, finalize: bool = True, discount: str = "0"):
        invoice = invoices.create_draft(
            merchant,
            customer=customer,
            currency="EUR",
            issue_date=today - timedelta(days=days_ago),
            due_date=today - timedelta(days=days_ago - term),
            lines=lines,
            discount_percent=Decimal(discount),
            notes="Thank you for your business.",
        )
        return invoices.finalize_invoice(invoice) if finalize else invoice

    # Jane has one of everything. She pays by transfer with the invoice's structured reference.
    first = issue(jane, web + design, 400, discount="5")  # the history goes back more than a year
    invoices.record_payment(
        first,
        amount=first.total,
        paid_on=first.due_date - timedelta(days=5),
        method="bank_transfer",
        reference=first.payment_reference,
    )
    paid = issue(jane, web, 200)
    invoices.record_payment(
        paid,
        amount=paid.total,
        paid_on=paid.due_date - timedelta(days=3),
        method="bank_transfer",
        reference=paid.payment_reference,
    )
    credited = issue(jane, design, 150)
    credit_notes.issue_credit_note(
        credited,
        lines=_lines(("Brand identity training (vocational), cancelled", "1", 100000, "0", "0", "E")),
        issue_date=credited.due_date,
        reason="Training cancelled at the customer's request",
    )
    overdue = issue(jane, design, 60)  # overdue by 30 days: the SPEC's first test vector, until the waiver
    question = "Could we split this one into two payments? The training budget moved to next quarter."
    comments.add_customer_comment(overdue, jane, question)
    # The reply promises what the invoice then shows: the recovery fee credited, the reminders paused.
    fee = invoices.invoice_breakdown(overdue, today).fee
    waiver = credit_notes.issue_credit_note(
        overdue,
        lines=_lines(("Late-payment recovery fee waived, as agreed", "1", fee, "0", "0", "E")),
        issue_date=today,
        reason="Recovery fee waived: the invoice is paid in two halves",
    )
    reminders.set_invoice_reminders_paused(overdue, True)
    comment_inbox.reply(
        overdue,
        admin,
        f"Of course: pay half now and the rest next month. We have waived the {format_currency(Money(fee, 'EUR').to_decimal(), 'EUR', locale='en')} recovery fee "
        f"with credit note {waiver.number} and paused the reminders for this invoice meanwhile.",
    )
    partly = issue(jane, web, 75)
    invoices.record_payment(
        partly,
        amount=100000,
        paid_on=partly.due_date + timedelta(days=15),
        method="bank_transfer",
        reference="Partial transfer",
    )
    with_note = issue(jane, web, 10)
    credit_notes.issue_credit_note(
        with_note,
        lines=_lines(("Brochure print run reduced", "50", 120, "6", "0")),
        issue_date=today,
        reason="Fewer brochures delivered",
    )
    invoices.void_invoice(issue(jane, design, 20))
    issue(jane, web, 0, finalize=False)
    # A deposit taken by card when she booked the training; the rest is due by the due date.
    invoices.record_payment(issue(jane, design, 5), amount=25000, paid_on=today, method="card", reference="Deposit")
    # She rounded a transfer up: the surplus is on her credit balance, to settle an open invoice from.
    rounded = issue(jane, web, 35)
    invoices.record_payment(
        rounded,
        amount=rounded.total + 5000,
        paid_on=today - timedelta(days=2),
        method="bank_transfer",
        reference="Transfer rounded up",
        surplus_to_credit=True,
    )

    # The other customers see the portal in their own language.
    issue(camille, web + design, 45)
    issue(camille, design, 5)
    daans = issue(daan, web + design, 45)
    issue(daan, design, 5)
    # A company's credit note: its download holds each document's PDF and Peppol e-invoice (XML).
    credit_notes.issue_credit_note(
        daans,
        lines=_lines(("Hosting, 2 months not used", "2", 1500, "21", "10")),
        issue_date=daans.issue_date + timedelta(days=20),
        reason="Hosting started two months late",
    )
    issue(lena, web_abroad, 45)
    issue(lena, design_abroad, 5)

    # Work recorded as it happens, invoiced later from the admin ("Draft an invoice").
    for days_ago, what, hours in ((12, "Photo retouching", "3.5"), (4, "Copywriting, product pages", "6")):
        billing.record_charge(
            camille,
            description=what,
            charged_on=today - timedelta(days=days_ago),
            quantity=Decimal(hours),
            unit_amount=8500,
            tax_rate=Decimal("21"),
        )
    # A monthly retainer that `flask portal bill-monthly` drafts on the 1st.
    billing.add_recurring_line(
        daan,
        description="Website maintenance retainer",
        quantity=Decimal("1"),
        unit_amount=45000,
        tax_rate=Decimal("21"),
    )
    billing.set_billing_cycle(daan, active=True, day_of_month=1, payment_days=14, auto_send=False)
    db.session.flush()
    return DemoLogins(links.make_portal_link(jane).url, DEMO_ADMIN_EMAIL, password, api_key, created=True)


def reset_demo_password() -> str:
    """Give the demo's staff login a new random password and return it."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == DEMO_ADMIN_EMAIL))
    if user is None:
        raise NotFound("The demo is not loaded")
    password = secrets.token_urlsafe(12)
    access.set_password(user, password)
    return password
