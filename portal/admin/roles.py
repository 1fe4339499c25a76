"""Who may do what in the admin area: the staff roles, and the one map from admin endpoint to what it needs.

Every admin endpoint is classified in ENDPOINT_NEEDS below. An endpoint missing from it is refused to
every role (deny by default), and tests/admin/test_roles.py fails until it is classified, so a new
route is a decision, never an accident. The admin blueprint's before_request asks `required_need`
and `role_may`; templates ask the same through `staff_can` / `staff_can_post`, so a button is shown
exactly when pressing it would be allowed.
"""

from __future__ import annotations

from enum import Enum

from flask import current_app, request
from werkzeug.exceptions import Forbidden, HTTPException

from portal.models.merchant import STAFF_ROLES


class Need(Enum):
    """What an endpoint needs of the signed-in staff member."""

    #: Anyone, signed in or not: the sign-in page and the admin's static files.
    PUBLIC = "public"
    #: Any signed-in staff member, acting on their own account only: sign out, own password.
    OWN_ACCOUNT = "own_account"
    #: Any signed-in staff member may look: pages and downloads that change nothing (GET only;
    #: any other method on such an endpoint needs BOOKS, see `required_need`).
    VIEW = "view"
    #: Keeping the books: documents, payments, customers, products, bank, jobs. Owners and accountants.
    BOOKS = "books"
    #: Running the account: settings, payment providers, API keys, webhook endpoints, staff. Owners only.
    ADMINISTRATION = "administration"


#: What each role may do. Owners everything; accountants the books; viewers only look.
ROLE_NEEDS: dict[str, frozenset[Need]] = {
    "owner": frozenset({Need.OWN_ACCOUNT, Need.VIEW, Need.BOOKS, Need.ADMINISTRATION}),
    "accountant": frozenset({Need.OWN_ACCOUNT, Need.VIEW, Need.BOOKS}),
    "viewer": frozenset({Need.OWN_ACCOUNT, Need.VIEW}),
}
assert set(ROLE_NEEDS) == set(STAFF_ROLES)

#: How a role is written on pages.
ROLE_LABELS = {"owner": "Owner", "accountant": "Accountant", "viewer": "Viewer"}

#: Methods that only read.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Every admin endpoint and what it needs. A route added to the admin blueprint must be added here.
ENDPOINT_NEEDS: dict[str, Need] = {
    # -- Signing in and the staff member's own account ----------------------------------------
    "admin.login": Need.PUBLIC,
    "admin.static": Need.PUBLIC,
    "admin.logout": Need.OWN_ACCOUNT,
    "admin.account": Need.OWN_ACCOUNT,
    "admin.settings_password": Need.OWN_ACCOUNT,
    # -- Looking: pages and downloads -----------------------------------------------------------
    "admin.home": Need.VIEW,
    "admin.invoices": Need.VIEW,
    "admin.invoice_detail": Need.VIEW,
    "admin.invoice_attachment": Need.VIEW,
    "admin.invoice_preview": Need.VIEW,
    "admin.invoice_preview_pdf": Need.VIEW,
    "admin.invoice_preview_email": Need.VIEW,
    "admin.invoice_preview_page": Need.VIEW,
    "admin.comments_inbox": Need.VIEW,
    "admin.comment_state": Need.BOOKS,
    "admin.customer_list": Need.VIEW,
    "admin.customer_detail": Need.VIEW,
    "admin.product_list": Need.VIEW,
    "admin.bank": Need.VIEW,
    "admin.exports_page": Need.VIEW,
    "admin.export_csv": Need.VIEW,
    "admin.export_documents": Need.VIEW,
    "admin.job_list": Need.VIEW,
    # -- Keeping the books: invoices and credit notes -------------------------------------------
    "admin.invoice_new": Need.BOOKS,
    "admin.invoice_edit": Need.BOOKS,
    "admin.invoice_totals": Need.BOOKS,
    "admin.invoice_delete": Need.BOOKS,
    "admin.invoice_finalize": Need.BOOKS,
    "admin.invoice_send": Need.BOOKS,
    "admin.invoice_reminders": Need.BOOKS,
    "admin.invoice_resolve_dispute": Need.BOOKS,
    "admin.invoice_link": Need.BOOKS,
    "admin.invoice_void": Need.BOOKS,
    "admin.invoice_credit_note": Need.BOOKS,
    "admin.invoice_reply": Need.BOOKS,
    "admin.invoice_attachment_add": Need.BOOKS,
    "admin.invoice_attachment_delete": Need.BOOKS,
    "admin.invoice_payment_methods": Need.BOOKS,
    # -- Keeping the books: payments, credit, bank ----------------------------------------------
    "admin.invoice_payment": Need.BOOKS,
    "admin.invoice_payment_refund": Need.BOOKS,
    "admin.credit_apply": Need.BOOKS,
    "admin.credit_refund": Need.BOOKS,
    "admin.bank_import_statement": Need.BOOKS,
    "admin.bank_match": Need.BOOKS,
    "admin.bank_ignore": Need.BOOKS,
    # -- Keeping the books: customers, charges, products ----------------------------------------
    "admin.customer_new": Need.BOOKS,
    "admin.customer_edit": Need.BOOKS,
    "admin.customer_link": Need.BOOKS,
    "admin.customer_revoke_links": Need.BOOKS,
    "admin.charge_new": Need.BOOKS,
    "admin.charge_delete": Need.BOOKS,
    "admin.draft_from_charges": Need.BOOKS,
    "admin.invoice_charge_saved_method": Need.BOOKS,
    # The confirmation of an action a viewer cannot take: closed to viewers like the editors.
    "admin.draft_from_charges_confirm": Need.BOOKS,
    "admin.recurring_line_new": Need.BOOKS,
    "admin.recurring_line_delete": Need.BOOKS,
    "admin.billing_cycle_save": Need.BOOKS,
    "admin.statement_send": Need.BOOKS,
    "admin.monthly_statement_save": Need.BOOKS,
    "admin.contact_new": Need.BOOKS,
    "admin.contact_action": Need.BOOKS,
    "admin.billing_change_decide": Need.BOOKS,
    "admin.product_new": Need.BOOKS,
    "admin.product_edit": Need.BOOKS,
    "admin.product_delete": Need.BOOKS,
    "admin.job_retry": Need.BOOKS,
    # -- Running the account: settings, keys, webhooks, staff -----------------------------------
    "admin.settings_home": Need.ADMINISTRATION,
    "admin.settings_company": Need.ADMINISTRATION,
    "admin.settings_branding": Need.ADMINISTRATION,
    "admin.settings_invoice_defaults": Need.ADMINISTRATION,
    "admin.settings_logo": Need.ADMINISTRATION,
    "admin.settings_logo_delete": Need.ADMINISTRATION,
    "admin.settings_late_fees": Need.ADMINISTRATION,
    "admin.settings_email_templates": Need.ADMINISTRATION,
    "admin.settings_reminders": Need.ADMINISTRATION,
    "admin.settings_reminder_step": Need.ADMINISTRATION,
    "admin.settings_ready_notification": Need.ADMINISTRATION,
    "admin.settings_self_service": Need.ADMINISTRATION,
    "admin.settings_mail_attachments": Need.ADMINISTRATION,
    "admin.settings_payments": Need.ADMINISTRATION,
    "admin.settings_sms": Need.ADMINISTRATION,
    "admin.settings_staff": Need.ADMINISTRATION,
    "admin.settings_staff_new": Need.ADMINISTRATION,
    "admin.settings_staff_active": Need.ADMINISTRATION,
    "admin.settings_staff_role": Need.ADMINISTRATION,
    "admin.settings_api_keys": Need.ADMINISTRATION,
    "admin.settings_api_key_new": Need.ADMINISTRATION,
    "admin.settings_api_key_revoke": Need.ADMINISTRATION,
    "admin.settings_webhooks": Need.ADMINISTRATION,
    "admin.settings_webhook_new": Need.ADMINISTRATION,
    "admin.settings_webhook_toggle": Need.ADMINISTRATION,
    "admin.settings_webhook_delete": Need.ADMINISTRATION,
    "admin.settings_webhook_resend": Need.ADMINISTRATION,
}

#: Endpoints open to anyone, signed in or not.
PUBLIC_ENDPOINTS = frozenset(endpoint for endpoint, need in ENDPOINT_NEEDS.items() if need is Need.PUBLIC)


def required_need(endpoint: str | None, method: str) -> Need | None:
    """Return what the request needs, or None when the endpoint is not classified (nobody may)."""
    need = ENDPOINT_NEEDS.get(endpoint or "")
    if need is Need.VIEW and method not in SAFE_METHODS:
        return Need.BOOKS  # looking changes nothing: anything else sent to a page is keeping the books
    return need


def role_may(role: str | None, endpoint: str | None, method: str) -> bool:
    """Tell whether a staff member with this role may send this method to this endpoint."""
    need = required_need(endpoint, method)
    return need is not None and (need is Need.PUBLIC or need in ROLE_NEEDS.get(role or "", frozenset()))


def roles_with(need: Need | None) -> list[str]:
    """Return the roles that have this need, most powerful first (none for an unclassified endpoint)."""
    return [role for role in STAFF_ROLES if need is not None and need in ROLE_NEEDS[role]]


class RoleRequired(Forbidden):
    """403: the signed-in staff member's role does not allow this; the page names the roles that do."""

    def __init__(self, role: str, allowed_roles: list[str]) -> None:
        super().__init__()
        #: The staff member's role.
        self.role = role
        #: The roles that may do this, most powerful first; empty when no role may (unclassified).
        self.allowed_roles = allowed_roles


def check_role(user) -> None:
    """Refuse (403) the request unless the signed-in staff member's role may make it."""
    if not role_may(user.role, request.endpoint, request.method):
        raise RoleRequired(user.role, roles_with(required_need(request.endpoint, request.method)))


def staff_can(user, endpoint: str, method: str = "POST") -> bool:
    """Tell a template whether to offer an action: the same rule the request itself will meet."""
    return bool(getattr(user, "is_authenticated", False)) and role_may(user.role, endpoint, method)


def staff_can_post(user, url: str) -> bool:
    """Tell a template whether a form posting to this admin URL (as url_for built it) would be allowed."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :]
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _args = adapter.match(path, method="POST")
    except HTTPException:
        return True  # not an admin form we know: the server decides when it is sent
    return staff_can(user, endpoint, "POST")
