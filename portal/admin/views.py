"""The admin area: staff sign in and run the merchant's back office.

Views load, authorize (every object is fetched through the signed-in staff member's
merchant, so another merchant's ids answer 404), call one service, commit once and render.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.admin import roles
from portal.admin.forms import LoginForm, PasswordForm
from portal.admin.roles import PUBLIC_ENDPOINTS
from portal.domain.errors import DomainError, InvalidTransition
from portal.domain.money import Money
from portal.extensions import db, limiter, login_manager
from portal.models import Merchant
from portal.services import access, comment_inbox
from portal.services.errors import Conflict, NotFound

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

#: The admin area speaks English; amounts and dates are written the English way.
ADMIN_LOCALE = "en_GB"


@login_manager.user_loader
def load_user(user_id: str):
    """Return the signed-in staff account (Flask-Login's user loader)."""
    return access.load_staff_user(user_id)


def _login_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _login_rate_key() -> str:
    # Per address and account, so one attacker cannot lock a colleague out from elsewhere.
    return f"admin-login:{request.remote_addr}:{_login_email()}"


def _login_rate_limit() -> str:
    return current_app.config["ADMIN_LOGIN_RATE_LIMIT"]


def _login_account_key() -> str:
    # Per account whatever the address: credential stuffing spreads its guesses over many addresses.
    return f"admin-login-account:{_login_email()}"


def _login_account_rate_limit() -> str:
    return current_app.config["ADMIN_LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_failed(response: Response) -> bool:
    # Only failures count against the account, so its owner signing in often is never locked out.
    return response.status_code != 303


@bp.record_once
def _configure_login(state) -> None:
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"


@bp.before_request
def require_staff():
    """Send anyone not signed in to the login page, and refuse (403) what the staff member's role may not do.

    Every admin endpoint is classified in portal/admin/roles.py; one that is not is refused to everyone.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    roles.check_role(current_user)
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    # Back-office pages list people's debts: keep them out of shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def merchant() -> Merchant:
    """Return the signed-in staff member's merchant."""
    return current_user.merchant


def load(getter, *args):
    """Call a service's get_… for the current merchant, answering 404 for anything else."""
    try:
        return getter(merchant(), *args)
    except NotFound:
        abort(404)


def failure(exc: DomainError, form=None) -> int:
    """Roll back, show the service's message on the form (or flash it), and return the status to answer."""
    db.session.rollback()
    if isinstance(exc, NotFound):
        abort(404)
    field = form_field(form, exc.field) if form is not None and exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    elif form is not None:
        form.form_errors.append(exc.message)
    else:
        flash(exc.message, "error")
    return 409 if isinstance(exc, (Conflict, InvalidTransition)) else 422


def form_field(form, name: str):
    """Return the form's field a service named, following dotted names into sub-forms (address.city)."""
    current = form
    for part in name.split("."):
        current = getattr(getattr(current, "form", current), part, None)
        if current is None:
            return None
    return current


def form_status(form) -> int:
    """Return 422 when a posted form failed validation, else 200."""
    return 422 if request.method == "POST" and form.errors else 200


@bp.app_template_global()
def admin_money(minor: int | None, currency: str) -> str:
    """Write an amount in minor units the English way, e.g. €1,049.86."""
    if minor is None:
        return ""
    return format_currency(Money(minor, currency).to_decimal(), currency, locale=ADMIN_LOCALE)


@bp.app_template_global()
def admin_number(value: Decimal | None) -> str:
    """Write a quantity or rate without trailing zeros."""
    return "" if value is None else format_decimal(value, format="#,##0.####", locale=ADMIN_LOCALE)


@bp.app_template_global()
def admin_file_size(size: int) -> str:
    """Write a file size in whole kilobytes, rounded up, e.g. 12 KB."""
    return f"{format_decimal(-(-size // 1024), locale=ADMIN_LOCALE)} KB"


@bp.app_template_global()
def comment_author(comment) -> str:
    """Name who wrote a customer's comment: the contact, with the company when that is another name."""
    customer = comment.invoice.customer
    contact = comment.contact
    if contact is None or contact.name == customer.name:
        return customer.name
    return f"{contact.name} ({customer.company or customer.name})"


@bp.context_processor
def admin_chrome() -> dict:
    """Give every admin page the staff member and the count of comments waiting for an answer, for the navigation."""
    waiting = comment_inbox.open_count(current_user.merchant) if current_user.is_authenticated else 0
    return {"staff": current_user, "open_comments": waiting}


@bp.app_template_filter()
def role_label(role: str) -> str:
    """Write a staff role as pages show it: Owner, Accountant, Viewer."""
    return roles.ROLE_LABELS.get(role, role)


@bp.app_template_global()
def staff_can(endpoint: str, method: str = "POST") -> bool:
    """Tell whether the signed-in staff member's role allows this endpoint (to show or hide an action)."""
    return roles.staff_can(current_user, endpoint, method)


@bp.app_template_global()
def staff_can_post(url: str) -> bool:
    """Tell whether the signed-in staff member's role allows posting to this admin URL."""
    return roles.staff_can_post(current_user, url)


# -- Signing in ----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, key_func=_login_rate_key, methods=["POST"])
@limiter.limit(_login_account_rate_limit, key_func=_login_account_key, methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.invoices"))
    form = LoginForm()
    if form.validate_on_submit():
        user = access.authenticate_staff(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.form_errors.append("Wrong email or password.")
    return render_template("admin/login.html", form=form), form_status(form)


def _safe_next(target: str | None) -> str:
    # Only a path inside the admin area: never another host (an open redirect).
    if target and target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.invoices")


@bp.post("/logout")
def logout():
    # Signing out ends the session everywhere: a copy of this cookie must not stay signed in.
    access.end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("admin.login"), code=303)


@bp.get("/account")
def account():
    """The signed-in staff member's own account: who they are, their role, their password."""
    return render_account()


def render_account(password_form=None, status: int = 200):
    """Render the own-account page (the password form's errors included)."""
    return render_template("admin/account.html", password_form=password_form or PasswordForm(formdata=None)), status


@bp.get("/")
def home():
    """What needs a person: comments to answer, transfers to match, pending and parked money, failures."""
    from portal.services.attention import needs_attention

    return render_template("admin/home.html", attention=needs_attention(merchant()))


# Importing the modules registers their routes on bp.
from portal.admin import bank, customers, exports, invoices, jobs, settings, webhooks  # noqa: E402,F401
