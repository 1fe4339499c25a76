"""SQLAlchemy models, one module per aggregate; importing this registers them all."""

# Modules whose tables other areas own; imported so the metadata always holds every table.
from portal.models import (  # noqa: E402,F401
    api,
    bank,
    billing,
    document,
    dues,
    job,
    ledger,
    mail,
    online_payment,
    saved_method,
    self_service,
    sms,
    statement,
)
from portal.models.base import Base
from portal.models.comment import Comment
from portal.models.credit_note import CreditNote, CreditNoteLine
from portal.models.customer import Customer
from portal.models.invoice import Invoice, InvoiceLine, Payment
from portal.models.merchant import ApiKey, Merchant, NumberSequence, StaffUser
from portal.models.product import Product
from portal.models.reminder import Dispute, ReminderSent, ReminderStep

__all__ = [
    "ApiKey",
    "Base",
    "Comment",
    "CreditNote",
    "CreditNoteLine",
    "Customer",
    "Dispute",
    "Invoice",
    "InvoiceLine",
    "Merchant",
    "NumberSequence",
    "Payment",
    "Product",
    "ReminderSent",
    "ReminderStep",
    "StaffUser",
]
