"""The production shape for real: gunicorn (2 workers) behind Debian's nginx terminating TLS, driven by Chromium.

nginx runs the README's configuration with a certificate made here; gunicorn serves the app on a unix
socket with PORTAL_PROXY_HOPS=1, rate limits in Redis, and the fake Mollie as the payment provider.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.extensions import db
from portal.models import Customer
from portal.services.links import make_portal_link
from tests.admin.conftest import PASSWORD, make_staff
from tests.conftest import in_ci, redis_url
from tests.factories import make_customer, make_invoice, make_merchant
from tests.fakes.mollie import FakeMollie
from tests.operations.conftest import CSRF, path_of
from tests.operations.wheel_smoke import free_port
from tests.payments.conftest import MOLLIE_KEY
from tests.portal.conftest import compile_catalogues

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
STAFF_EMAIL = "owner@nginx.example"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        reason = "nginx not found (apt-get install nginx; make test installs it)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def write_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def readme_nginx_block() -> str:
    (block,) = re.findall(r"```nginx\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return block


def nginx_config(directory: Path, *, https_port: int, http_port: int, socket: Path, cert: Path, key: Path) -> Path:
    """The README's server configuration, pointed at this test's ports, socket, certificate and logs."""
    block = readme_nginx_block()
    replacements = {
        "server 127.0.0.1:8000;": f"server unix:{socket};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/billing.example.com/fullchain.pem": str(cert),
        "/etc/ssl/billing.example.com/privkey.pem": str(key),
        "/var/log/nginx/portal.access.log": str(directory / "access.log"),
    }
    for old, new in replacements.items():
        assert old in block, f"the README's nginx example no longer holds {old!r}"
        block = block.replace(old, new)
    temp = directory / "temp"
    temp.mkdir()
    # As root, nginx's workers would run as nobody, who cannot reach this test's private folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    config = f"""
{user}
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{block}
}}
"""
    path = directory / "nginx.conf"
    path.write_text(config)
    return path


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started (workers)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # workers left behind by a master that died
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class Stack:
    base_url: str
    http_url: str
    mollie: FakeMollie
    directory: Path

    def log(self, name: str) -> str:
        path = self.directory / name
        return path.read_text() if path.exists() else ""


def wait_until_ready(url: str, processes: list[subprocess.Popen], logs, timeout: float = 90) -> None:
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{process.args[0]} exited:\n{logs()}"
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5, context=unverified) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.3)
    raise AssertionError(f"the stack did not get ready:\n{logs()}")


@pytest.fixture(scope="module")
def stack(app, database_url, tmp_path_factory) -> Iterator[Stack]:
    """nginx and gunicorn on loopback for this module; both stopped, with their workers, at its end."""
    nginx = nginx_binary()
    redis = redis_url()
    compile_catalogues()
    directory = tmp_path_factory.mktemp("stack")
    cert, key = write_certificate(directory)
    https_port, http_port = free_port(), free_port()
    base_url = f"https://127.0.0.1:{https_port}"
    socket = directory / "gunicorn.sock"

    mollie = FakeMollie().start()
    mollie.ssl_context = ssl.create_default_context(cafile=str(cert))  # its webhooks reach the app through nginx

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_") and k != "FLASK_APP"}
    environment.update(
        # The suite's key: the magic links this test makes must open there.
        PORTAL_SECRET_KEY=app.config["SECRET_KEY"],
        PORTAL_ENCRYPTION_KEY="OaM8bGGqfT1jX7Vd4fn5G9gWf0vEKq0LhtuuJ8Jc0sU=",
        PORTAL_DATABASE_URL=database_url,
        PORTAL_PROXY_HOPS="1",
        PORTAL_PUBLIC_URL=base_url,
        PORTAL_RATELIMIT_STORAGE_URI=redis,
        PORTAL_RATELIMIT_KEY_PREFIX=f"nginx-{os.getpid()}-{time.time_ns()}",
        PORTAL_MOLLIE_API_ENDPOINT=mollie.url,
        PORTAL_MOLLIE_API_KEY=MOLLIE_KEY,
        PORTAL_LOG_FORMAT="json",
    )
    gunicorn_log = (directory / "gunicorn.log").open("w")
    nginx_log = (directory / "nginx.out").open("w")
    processes: list[subprocess.Popen] = []
    try:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "portal:create_app()", "--bind", f"unix:{socket}", "--workers", "2"],
                cwd=ROOT,
                env=environment,
                stdout=gunicorn_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        config = nginx_config(directory, https_port=https_port, http_port=http_port, socket=socket, cert=cert, key=key)
        processes.append(
            subprocess.Popen(
                [nginx, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log")],
                stdout=nginx_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        stack = Stack(base_url, f"http://127.0.0.1:{http_port}", mollie, directory)

        def logs() -> str:
            return "\n".join(f"== {name}\n{stack.log(name)}" for name in ("gunicorn.log", "nginx.out", "error.log"))

        wait_until_ready(base_url, processes, logs)
        yield stack
    finally:
        for process in reversed(processes):
            stop_group(process)
        gunicorn_log.close()
        nginx_log.close()
        mollie.stop()


def browser_context(browser):
    return browser.new_context(ignore_https_errors=True, locale="en-GB", viewport={"width": 1280, "height": 900})


def test_staff_sign_in_and_out_in_chromium_through_nginx(app, stack, chromium):
    with app.app_context():
        make_staff(make_merchant("Atelier Lumen"), STAFF_EMAIL)
        db.session.commit()
    context = browser_context(chromium)
    page = context.new_page()
    try:
        login = page.goto(f"{stack.base_url}/admin/login")
        assert login.status == 200
        assert login.headers["strict-transport-security"] == "max-age=31536000"
        page.fill("input[name=email]", STAFF_EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{stack.base_url}/admin/invoices")
        assert "Atelier Lumen" in page.title()

        page.click("button:has-text('Sign out')")
        page.wait_for_url(f"{stack.base_url}/admin/login")
        assert "You are signed out." in page.inner_text("body")
    finally:
        context.close()


def test_a_customer_comments_pays_and_signs_out_in_chromium_through_nginx(app, stack, chromium):
    with app.app_context():
        customer = make_customer(make_merchant("Atelier Lumen"))
        invoice = make_invoice(customer)
        db.session.commit()
        link = path_of(make_portal_link(db.session.get(Customer, customer.id)).url)
        number = invoice.number
        db.session.remove()
    token = link.rsplit("/", 1)[1]
    context = browser_context(chromium)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(stack.base_url + link)
        page.wait_for_url(f"{stack.base_url}/")
        page.goto(f"{stack.base_url}/invoices/{number}")

        page.fill("textarea[name=body]", "Can I pay half now?")
        page.click("button:has-text('Send message')")
        page.wait_for_selector("text=Your message was sent.")
        assert "Can I pay half now?" in page.inner_text(".thread")

        page.get_by_test_id("pay-button").click()  # Mollie, the one provider
        page.wait_for_url(f"{stack.mollie.url}/checkout/**")
        page.get_by_role("button", name="Pay", exact=True).click()  # the fake's webhook goes through nginx
        page.wait_for_url(f"{stack.base_url}/payments/*/return")
        page.locator("[data-state='paid']").wait_for(timeout=15000)
        page.get_by_test_id("back-to-invoice").click()
        assert "Paid on" in page.inner_text("main")

        page.click("button:has-text('Sign out')")
        page.wait_for_selector("h1")
        assert problems == []
        assert page.goto(f"{stack.base_url}/invoices/{number}").status == 401
    finally:
        context.close()

    # The token reached neither log; the app's lines carry nginx's request id.
    app_lines = [json.loads(line) for line in stack.log("gunicorn.log").splitlines() if line.startswith("{")]
    requests = [line for line in app_lines if line["logger"] == "portal.request"]
    assert any(line["path"] == "/l/<token>" and line["status"] == 303 for line in requests)
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in requests)
    assert {line["remote_addr"] for line in requests if line["path"] != "/webhooks/mollie"} == {"127.0.0.1"}
    assert token not in stack.log("gunicorn.log") and token not in stack.log("access.log")
    assert "/l/<token>" in stack.log("access.log")


class Client:
    """A client at its own loopback address, speaking https to nginx with cookies of its own."""

    def __init__(self, stack: Stack, address: str) -> None:
        self.stack = stack
        self.address = address
        self.cookies: dict[str, str] = {}
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        port = int(self.stack.base_url.rsplit(":", 1)[1])
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=self.context, source_address=(self.address, 0), timeout=30
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()

    def ask_for_a_fresh_link(self, spoofed_for: str | None = None) -> int:
        status, page = self.request("GET", "/l/not-a-link")
        assert status == 404
        token = CSRF.search(page).group(1)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.stack.base_url}
        if spoofed_for:
            headers["X-Forwarded-For"] = spoofed_for
        status, _ = self.request("POST", "/l/fresh", body=f"csrf_token={token}", headers=headers)
        return status


def test_rate_limits_count_each_client_behind_nginx_across_workers(stack):
    first, second = Client(stack, "127.0.0.2"), Client(stack, "127.0.0.3")

    # Two a minute per address, counted in Redis whichever gunicorn worker answers.
    assert [first.ask_for_a_fresh_link() for _ in range(3)] == [200, 200, 429]
    # Another customer behind the same proxy is not locked out by the first.
    assert second.ask_for_a_fresh_link() == 200
    # A client naming another address: nginx appends the one it saw, and only that one counts.
    assert first.ask_for_a_fresh_link(spoofed_for="198.51.100.77") == 429


def test_plain_http_is_redirected_to_https(stack):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(stack.http_url + "/admin/login", timeout=10)
    with redirect.value as answer:
        assert answer.code == 301
        assert answer.headers["Location"] == "https://127.0.0.1/admin/login"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None
