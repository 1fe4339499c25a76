"""The messages the portal sends; each is queued in the outbox within the caller's transaction.

Placeholders until the outbox lands (issue 4): they queue nothing yet.
"""

from __future__ import annotations

from portal.models import Comment, Customer, Payment


def send_fresh_link(customer: Customer) -> None:
    """Queue a mail with a new portal link to the customer's address on file."""


def notify_staff_of_comment(comment: Comment) -> None:
    """Queue a notification of a customer's comment to every staff member of the merchant."""


def send_payment_confirmation(payment: Payment) -> None:
    """Queue the customer's confirmation of an online payment."""


def notify_staff_of_payment(payment: Payment) -> None:
    """Queue a notification of an online payment to every staff member of the merchant."""


def notify_customer_of_reply(comment: Comment) -> None:
    """Queue a staff member's reply to the customer who asked."""
