"""The messages the portal sends; each is queued in the outbox within the caller's transaction.

Placeholders until the outbox lands (issue 4): they queue nothing yet.
"""

from __future__ import annotations

from portal.models import Comment, Customer


def send_fresh_link(customer: Customer) -> None:
    """Queue a mail with a new portal link to the customer's address on file."""


def notify_staff_of_comment(comment: Comment) -> None:
    """Queue a notification of a customer's comment to every staff member of the merchant."""
