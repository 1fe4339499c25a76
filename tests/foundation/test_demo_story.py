"""`flask portal demo` tells one coherent story: what staff promise in a reply is what the documents show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment, Invoice
from portal.services.invoices import invoice_breakdown, outstanding
from portal.services.reminders import reminder_step_due, reminder_steps

DEMO_DAY = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _load(runner, time_machine) -> None:
    time_machine.move_to(DEMO_DAY, tick=False)
    result = runner.invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output


def test_the_reply_that_waives_the_fee_goes_with_a_credit_note_for_that_fee(app, runner, time_machine):
    _load(runner, time_machine)
    with app.app_context():
        replies = db.session.scalars(select(Comment).where(Comment.author_kind == "staff")).all()
        promising = [reply for reply in replies if "waive" in reply.body.lower()]
        assert promising, "the demo's thread is about waiving the late fee"
        for reply in promising:
            invoice = reply.invoice
            breakdown = invoice_breakdown(invoice, invoice.merchant.today())
            assert breakdown.fee > 0  # there is a fee to waive: the invoice is overdue
            named = re.findall(r"CN-\d{4}-\d{4}", reply.body)
            waivers = [note for note in invoice.credit_notes if note.number in named]
            assert waivers, f"the reply on {invoice.number} names no credit note of that invoice"
            assert [note.total for note in waivers] == [breakdown.fee]  # exactly the fee, no more, no less
            assert "fee" in (waivers[0].reason or "").lower()
            # It also says the reminders are paused meanwhile: they are.
            assert "paused the reminders" in reply.body and invoice.reminders_paused
            steps = reminder_steps(invoice.merchant)
            if steps:  # a schedule of the merchant's would skip it
                assert reminder_step_due(invoice, steps, invoice.merchant.today(), []) is None
            # The customer's question is about what that invoice bills.
            question = db.session.scalar(
                select(Comment).where(Comment.invoice_id == invoice.id, Comment.author_kind == "customer")
            )
            assert "training" in question.body and all("training" in line.description for line in invoice.lines)
        db.session.remove()


def test_every_payment_and_credit_note_of_the_demo_adds_up(app, runner, time_machine):
    _load(runner, time_machine)
    with app.app_context():
        for invoice in db.session.scalars(select(Invoice).where(Invoice.status != "draft")):
            if invoice.status == "void":
                assert invoice.payments == [] and invoice.credit_notes == []
                continue
            # Bank transfers say how they were identified; each document is what it claims.
            for payment in invoice.payments:
                if payment.method == "bank_transfer":
                    assert payment.reference, f"a transfer on {invoice.number} without a reference"
            settled = invoice.status == "paid"
            assert settled == (outstanding(invoice) == 0), invoice.number
        # No invoice waits unpaid for more than a year: the oldest is paid history.
        oldest = db.session.scalars(
            select(Invoice).where(Invoice.status != "draft").order_by(Invoice.issue_date)
        ).first()
        assert oldest.status == "paid"
        db.session.remove()
