"""The comment inbox and staff replies, which reach the customer's thread and mailbox."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment, Customer
from portal.models.mail import OutboxMessage
from portal.services.comments import add_customer_comment
from portal.services.links import make_portal_link
from tests.factories import make_invoice


def test_inbox_reply_and_the_customers_thread(app, staff):
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(customer)
        add_customer_comment(invoice, customer, "Why is the hosting line doubled?")
        db.session.commit()
        invoice_id, number = invoice.id, invoice.number

    inbox = staff.get("/admin/comments?state=open").get_data(as_text=True)
    assert "Why is the hosting line doubled?" in inbox and 'data-state="open"' in inbox

    detail = f"/admin/invoices/{invoice_id}"
    assert "Why is the hosting line doubled?" in staff.get(detail).get_data(as_text=True)
    # Opening the invoice is not answering: the comment still waits.
    assert "Why is the hosting" in staff.get("/admin/comments?state=open").get_data(as_text=True)

    empty = staff.post(f"{detail}/comments", {"body": "   "}, page=detail)
    assert empty.status_code == 422
    response = staff.post(f"{detail}/comments", {"body": "It covers two sites <b>A</b> and B."}, page=detail)
    assert response.status_code == 303
    assert "Why is the hosting" not in staff.get("/admin/comments?state=open").get_data(as_text=True)
    assert "Why is the hosting" in staff.get("/admin/comments?state=answered").get_data(as_text=True)

    with app.app_context():
        reply = db.session.scalar(select(Comment).where(Comment.author_kind == "staff"))
        assert reply.staff_user.email == staff.email
        mails = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")))
        assert [m.to_address for m in mails] == ["jane@customer.example"]
        with app.test_request_context():
            link = make_portal_link(db.session.get(Customer, staff.customer_id)).url

    customer_client = app.test_client()
    customer_client.get(link.replace("http://portal.test", ""))
    page = customer_client.get(f"/invoices/{number}").get_data(as_text=True)
    assert "It covers two sites &lt;b&gt;A&lt;/b&gt; and B." in page
