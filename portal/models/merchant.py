"""Merchants, their staff, API keys and document number sequences."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.late_fees import LateFeePolicy
from portal.domain.parties import Seller
from portal.models.base import Base, ExactDecimal, UTCDateTime, utcnow
from portal.models.identity import IdentityColumns


class Merchant(IdentityColumns, Base):
    """A company that bills its customers through the portal; its legal identity is the seller on documents."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("late_fee_minimum >= 0", name="fee_minimum_non_negative"),
        CheckConstraint("late_grace_days >= 0", name="grace_days_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Trading name (the brand), shown in the browser tab, the portal's header and as the mails' sender.
    name: Mapped[str] = mapped_column(String(200))
    #: Registered legal name, printed as the seller on invoices and credit notes.
    legal_name: Mapped[str | None] = mapped_column(String(200))
    #: Short unique handle used by the CLI.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    #: IANA time zone; "today" (due dates, days late) is the merchant's today.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    #: ISO 4217 code used when an invoice names none.
    default_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    #: Contact address shown to customers and on documents, and used as Reply-To.
    support_email: Mapped[str | None] = mapped_column(String(254))
    #: Website shown on documents.
    website: Mapped[str | None] = mapped_column(String(200))
    #: The account customers pay transfers to, compact (BE68539007547034), checked by schwifty.
    iban: Mapped[str | None] = mapped_column(String(34))
    #: The bank's BIC, compact (GKCCBEBB).
    bic: Mapped[str | None] = mapped_column(String(11))
    #: Logo, already re-encoded as PNG by the upload path.
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Brand colours as #rrggbb.
    primary_color: Mapped[str] = mapped_column(String(7), default="#1d4ed8")
    accent_color: Mapped[str] = mapped_column(String(7), default="#f59e0b")
    #: Folder name under themes/.
    theme: Mapped[str] = mapped_column(String(32), default="classic")
    #: The tax rate (%) a new line gets when it names none; NULL: every line names its own.
    default_tax_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 4))
    #: Default terms of service shown on every invoice unless the invoice overrides them.
    terms: Mapped[str | None] = mapped_column(Text)
    #: Late-fee policy in force now; copied onto each invoice when it is finalized.
    late_annual_rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4), default=Decimal("0"))
    late_fee_percent: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4), default=Decimal("0"))
    #: Minimum fee in minor units of the invoice's currency.
    late_fee_minimum: Mapped[int] = mapped_column(BigInteger, default=0)
    late_grace_days: Mapped[int] = mapped_column(Integer, default=0)
    #: "Invoice ready for payment": finalizing an invoice mails the customer its link at once.
    send_when_finalized: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The invoice mail carries the UBL e-invoice (invoice-<number>.xml) beside the PDF.
    attach_ubl_to_mail: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: `flask portal send-reminders` (and the workers' schedule) sends this merchant's reminder steps.
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Belgian B2C preset (Book XIX): for consumer customers, late charges wait for a free first reminder
    #: and 14 days, and are capped as the law caps them.
    consumer_preset: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The legal interest rate (%) in force; under the preset the interest is at most this plus 8 points.
    legal_interest_rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4), default=Decimal("0"), server_default="0")
    #: Billing details a customer changes in the portal wait for staff approval before they apply.
    billing_changes_need_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Contacts with the viewer role may only look: no paying, no comments.
    viewers_read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[list[StaffUser]] = relationship(back_populates="merchant")

    @property
    def late_fee_policy(self) -> LateFeePolicy:
        """Return the policy in force for newly finalized invoices."""
        return LateFeePolicy(
            annual_rate=self.late_annual_rate,
            fee_percent=self.late_fee_percent,
            fee_minimum=self.late_fee_minimum,
            grace_days=self.late_grace_days,
        )

    @property
    def legal_identity(self) -> Seller:
        """Return the seller as a document issued now would print it."""
        return Seller(
            legal_name=self.legal_name or self.name,
            address=self.address,
            vat_number=self.vat_number,
            company_number=self.company_number,
            email=self.support_email,
            phone=self.phone,
            website=self.website,
            iban=self.iban,
            bic=self.bic,
        )

    def today(self) -> date:
        """Return today's date in the merchant's time zone."""
        return datetime.now(ZoneInfo(self.timezone)).date()


#: Staff roles, most powerful first; portal/admin/roles.py says what each may do.
STAFF_ROLES = ("owner", "accountant", "viewer")


class StaffUser(UserMixin, Base):
    """A member of a merchant's staff who logs in to the admin area."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("role IN ('owner', 'accountant', 'viewer')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Login name; unique across merchants so a login finds one account.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: werkzeug scrypt hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: What the admin area lets them do: "owner" (everything), "accountant" (the books, not the settings),
    #: "viewer" (read only). Accounts from before roles existed are owners.
    role: Mapped[str] = mapped_column(String(16), default="owner", server_default="owner")
    #: Goes up on sign-out, password change and deactivation; a session signed for another value is refused,
    #: so a copied session cookie stops working then (the signed cookie alone proves nothing after that).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merchant: Mapped[Merchant] = relationship(back_populates="staff")

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def get_id(self) -> str:
        """Return what Flask-Login keeps in the session: the id and the session version ("12:3")."""
        return f"{self.id}:{self.session_version}"


class ApiKey(Base):
    """A bearer key for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: First characters of the key, shown to staff so they can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    #: Hex SHA-256 of the whole key (keys are long random strings, so no salt is needed).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    merchant: Mapped[Merchant] = relationship()


class NumberSequence(Base):
    """The last number handed out per merchant, document kind and year (gapless)."""

    __tablename__ = "number_sequences"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    #: "invoice" or "credit_note".
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
