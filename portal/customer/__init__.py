"""The customer portal blueprint: what a merchant's customer sees after opening a link."""

from flask import Blueprint

bp = Blueprint("customer", __name__, template_folder="templates")

# Importing the modules registers their routes on bp.
from portal.customer import downloads, payments, saved_methods, self_service, statements, views  # noqa: E402,F401
