"""A customer's comment is open until staff reply or mark it "no reply needed"; the inbox filters by state."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment, Customer
from portal.services.comments import add_customer_comment
from tests.factories import make_invoice


def _two_comments(app, staff) -> tuple[int, int, int]:
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        first, second = make_invoice(customer), make_invoice(customer)
        asked = add_customer_comment(first, customer, "Can I pay in two parts?")
        thanked = add_customer_comment(second, customer, "Thanks, all clear.")
        db.session.commit()
        return first.id, asked.id, thanked.id


def _listed(staff, state: str) -> str:
    return staff.get(f"/admin/comments?state={state}").get_data(as_text=True)


def test_comments_stay_open_until_answered_or_marked_and_the_inbox_filters_by_state(app, staff):
    first_id, asked_id, thanked_id = _two_comments(app, staff)
    for invoice_page in (f"/admin/invoices/{first_id}", "/admin/"):
        staff.get(invoice_page)  # looking is not answering
    opened = _listed(staff, "open")
    assert "Can I pay in two parts?" in opened and "Thanks, all clear." in opened
    assert 'aria-label="2 open"' in opened

    # The thanks needs no reply: marked from the inbox, it leaves the open list.
    marked = staff.post(
        f"/admin/comments/{thanked_id}/state", {"state": "no_reply_needed", "back": "inbox"}, page="/admin/comments"
    )
    assert marked.status_code == 303
    # The question is answered by a reply on its invoice.
    detail = f"/admin/invoices/{first_id}"
    assert staff.post(f"{detail}/comments", {"body": "Yes, half now."}, page=detail).status_code == 303

    assert "Can I pay" not in _listed(staff, "open") and "Thanks, all clear." not in _listed(staff, "open")
    answered, no_reply = _listed(staff, "answered"), _listed(staff, "no_reply_needed")
    assert "Can I pay in two parts?" in answered and "Thanks, all clear." not in answered
    assert "Thanks, all clear." in no_reply and "Can I pay" not in no_reply
    assert 'class="nav__count"' not in _listed(staff, "open")  # nothing waits any more
    with app.app_context():
        rows = db.session.execute(select(Comment.id, Comment.state).where(Comment.author_kind == "customer"))
        states = {row.id: row.state for row in rows}
        assert states == {asked_id: "answered", thanked_id: "no_reply_needed"}
        assert db.session.get(Comment, thanked_id).state_changed_by.email == staff.email

    # Opened again, it waits once more; "answered" only ever comes with a reply.
    staff.post(f"/admin/comments/{thanked_id}/state", {"state": "open"}, page="/admin/comments")
    assert "Thanks, all clear." in _listed(staff, "open")
    refused = staff.post(
        f"/admin/comments/{thanked_id}/state", {"state": "answered"}, page="/admin/comments", follow_redirects=True
    )
    assert "reply to answer it" in refused.get_data(as_text=True)
    assert staff.get("/admin/comments?state=bogus").status_code == 404


def test_another_merchants_comment_cannot_be_marked(app, staff, rival):
    _, asked_id, _ = _two_comments(app, staff)
    answer = rival.post(f"/admin/comments/{asked_id}/state", {"state": "no_reply_needed"}, page="/admin/comments")
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(Comment, asked_id).state == "open"


def test_the_to_do_home_lists_open_comments_not_unread_ones(app, staff):
    first_id, _, thanked_id = _two_comments(app, staff)
    staff.get(f"/admin/invoices/{first_id}")
    home = staff.get("/admin/").get_data(as_text=True)
    assert "Can I pay in two parts?" in home and "Comments waiting for an answer" in home
    staff.post(f"/admin/comments/{thanked_id}/state", {"state": "no_reply_needed"}, page="/admin/comments")
    assert "Thanks, all clear." not in staff.get("/admin/").get_data(as_text=True)
