"""What the app trusts about a request, and the security headers of every response.

- Behind PORTAL_PROXY_HOPS trusted reverse proxies, the client's address, scheme and host come
  from their X-Forwarded-* headers (werkzeug's ProxyFix); with 0 hops those headers change nothing.
- A form post must come from the portal's own pages: on top of Flask-WTF's token, its Origin
  (or, over https without an Origin, its Referer) must be this site, as Django checks them.
- Pages keep their address to this site (Referrer-Policy: same-origin); of an address holding a
  secret (a magic link's token) only the origin is ever sent (strict-origin).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline script or style anywhere: brand colours come from a stylesheet route,
# the logo is a data: image. form-action is left open because the pay button's
# POST is redirected to the provider's checkout page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
#: The portal's own pages may tell the portal where a click came from (Flask-WTF's https check
#: needs it); other sites, such as the payment provider's checkout, learn nothing.
REFERRER_POLICY = "same-origin"
#: For an address holding a secret: never the path, but still the origin, because a browser that
#: may not send a Referer sends "Origin: null" with form posts (no-referrer would break the forms).
SECRET_URL_REFERRER_POLICY = "strict-origin"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def register(app: Flask) -> None:
    """Trust the configured proxies, check where form posts come from, and add the headers."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(check_form_origin)
    app.after_request(add_security_headers)


def url_holds_secret() -> bool:
    """Tell whether the request's address carries a secret: a magic link's or a short link's token."""
    return bool(request.view_args) and "token" in request.view_args


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def check_form_origin() -> None:
    """Refuse a form post that another site made the browser send, even with a valid token."""
    if not g.get("csrf_valid"):
        return  # not a protected post (GET, webhooks, the bearer-token API), or already refused
    own = _origin(request.host_url)
    origin = request.headers.get("Origin")
    if origin is not None:
        if _origin(origin) != own:
            raise CSRFError("The form was sent from another site.")
    elif request.is_secure:
        # Browsers send Origin with every form post; without one, the Referer must name this site.
        referrer = request.referrer
        if not referrer:
            raise CSRFError("The referrer header is missing.")
        if _origin(referrer) != own:
            raise CSRFError("The referrer does not match the host.")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", SECRET_URL_REFERRER_POLICY if url_holds_secret() else REFERRER_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    max_age = current_app.config["HSTS_MAX_AGE"]
    if request.is_secure and max_age:
        # Only over https: a browser told this over plain http (development) would ignore it anyway.
        headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}")
    return response
