"""Provider callbacks: CSRF-exempt, authenticated by fetching (Mollie) or signatures (Stripe)."""

from flask import Blueprint

from portal.extensions import csrf

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
