"""Build the wheel, install it in a virtual environment outside the repository, and run the portal from it.

    python tests/operations/wheel_smoke.py

CI runs it like this: a fresh virtual environment, every dependency installed from the package index,
then from an empty directory `flask --app portal db upgrade`, `flask --app portal portal demo --json`,
`gunicorn 'portal:create_app()'`, a portal page in two languages, an invoice PDF, an admin page after
signing in, and the mail the demo queued. The test suite runs the same steps with `light=True`: the
virtual environment borrows this interpreter's dependencies, so only the wheel is new (seconds, not
the minute a full install takes).

Only the standard library here: the portal under test runs in the other environment.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import json
import os
import re
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
_INVOICE_LINK = re.compile(r'href="(/invoices/[0-9A-Za-z-]+)"')


class SmokeFailure(AssertionError):
    """A step of the smoke test did not do what it should."""


@dataclass
class Installed:
    """A virtual environment holding the wheel, and how to run its commands."""

    root: Path
    light: bool

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def command(self, name: str) -> list[str]:
        # A full install has the console scripts; a light one runs the same modules.
        if self.light:
            return [str(self.python), "-m", name]
        return [str(self.root / "bin" / name)]


@dataclass
class SmokeReport:
    wheel: Path
    steps: list[str] = field(default_factory=list)

    def done(self, step: str) -> None:
        self.steps.append(step)
        print(f"  ok  {step}", flush=True)


def build_wheel(target: Path) -> Path:
    """Build the project's wheel into target (pip wheel ., no dependencies); return its path."""
    target.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(target), str(ROOT)])
    (wheel,) = target.glob("invoice_portal-*.whl")
    return wheel


def install(wheel: Path, where: Path, *, light: bool) -> Installed:
    """Create a virtual environment at `where` and install the wheel into it."""
    if light:
        _run([sys.executable, "-m", "venv", "--without-pip", str(where)])
        site_packages = next((where / "lib").glob("python3*/site-packages"))
        # Borrow this interpreter's dependencies as plain paths: their .pth files (among them the
        # checkout's editable install) stay unread, so `portal` can only come from the wheel.
        borrowed = [p for p in site.getsitepackages() if Path(p).is_dir()]
        (site_packages / "zz_borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n")
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site_packages), str(wheel)]
        )
    else:
        _run([sys.executable, "-m", "venv", str(where)])
        _run([str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    return Installed(where, light)


def clean_environment(**settings: str) -> dict[str, str]:
    """Return an environment with nothing of this shell's project settings, plus the given ones."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """A cookie-keeping HTTP client (Secure cookies too: the smoke test talks plain http to gunicorn)."""

    class _Policy(http.cookiejar.DefaultCookiePolicy):
        def return_ok_secure(self, cookie, request):
            return True

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        jar = http.cookiejar.CookieJar(policy=self._Policy())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), urllib.request.ProxyHandler({})
        )

    def get(self, path: str) -> tuple[int, str, bytes]:
        return self._open(urllib.request.Request(self._url(path)))

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, bytes]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self._url(path), data=body, headers={"Origin": self.base_url})
        return self._open(request)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def _open(self, request) -> tuple[int, str, bytes]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def run_smoke(work: Path, *, light: bool, wheel: Path | None = None) -> SmokeReport:
    """Install the wheel under `work` and check what an operator would see; raise SmokeFailure if not."""
    wheel = wheel or build_wheel(work / "dist")
    report = SmokeReport(wheel)
    report.done(f"built {wheel.name}")
    env_dir = install(wheel, work / "venv", light=light)
    report.done("installed in a fresh virtual environment" + (" (dependencies borrowed)" if light else ""))

    empty = work / "empty"
    empty.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = clean_environment(
        PORTAL_SECRET_KEY="smoke-test-secret-key-" + "x" * 32,
        # A Fernet key: valid whether the key is used as is or derived from.
        PORTAL_ENCRYPTION_KEY="OaM8bGGqfT1jX7Vd4fn5G9gWf0vEKq0LhtuuJ8Jc0sU=",
        PORTAL_PUBLIC_URL=base_url,
        # Production runs `flask portal worker` beside gunicorn; the web processes' own job thread
        # (the SQLite default) would print the demo's mail before the worker below could.
        PORTAL_EMBEDDED_WORKER="false",
    )
    flask = [*env_dir.command("flask"), "--app", "portal"]
    _run([*flask, "db", "upgrade"], cwd=empty, env=env)
    report.done("flask --app portal db upgrade")
    demo = json.loads(_run([*flask, "portal", "demo", "--json"], cwd=empty, env=env).stdout)
    report.done("flask --app portal portal demo --json")

    server = subprocess.Popen(
        [*env_dir.command("gunicorn"), "portal:create_app()", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=empty,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_up(base_url, server)
        report.done("gunicorn 'portal:create_app()' answers /healthz")
        _check_pages(Browser(base_url), demo, report)
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    if "Traceback" in output:
        raise SmokeFailure(f"gunicorn logged an exception:\n{output}")

    mail = _run([*flask, "portal", "worker", "--once"], cwd=empty, env=env).stdout
    _expect("Subject:" in mail and "Atelier Lumen" in mail, "worker --once printed the demo's mail", mail)
    report.done("flask --app portal portal worker --once prints the queued mail")
    return report


def _check_pages(browser: Browser, demo: dict, report: SmokeReport) -> None:
    status, _, body = browser.get(demo["portal_url"])
    page = body.decode()
    _expect(status == 200 and "Atelier Lumen" in page and "Open invoices" in page, "the portal overview", page)
    report.done("portal link → overview (templates)")

    for path in ("/assets/portal.css", "/theme/classic/theme.css", "/admin/static/admin.css"):
        status, content_type, _ = browser.get(path)
        _expect(status == 200 and "text/css" in content_type, f"{path} is served", f"{status} {content_type}")
    report.done("static files and theme stylesheet")

    token = _CSRF.search(page)
    _expect(token is not None, "a CSRF token on the overview", page)
    status, _, body = browser.post("/language", {"csrf_token": html.unescape(token.group(1)), "language": "fr"})
    french = body.decode()
    _expect(status == 200 and "Factures à payer" in french, "the overview in French (compiled catalogues)", french)
    report.done("language switch → French page (compiled .mo catalogues)")

    invoice = _INVOICE_LINK.search(page)
    _expect(invoice is not None, "an invoice link on the overview", page)
    status, content_type, pdf = browser.get(invoice.group(1) + "/pdf")
    _expect(status == 200 and content_type == "application/pdf" and pdf.startswith(b"%PDF"), "the PDF", content_type)
    report.done(f"{invoice.group(1)}/pdf is a PDF ({len(pdf)} bytes)")

    status, _, body = browser.get("/admin/login")
    login = body.decode()
    token = _CSRF.search(login)
    _expect(status == 200 and token is not None, "the admin login page", login)
    status, _, body = browser.post(
        "/admin/login",
        {"csrf_token": html.unescape(token.group(1)), "email": demo["admin_email"], "password": demo["admin_password"]},
    )
    admin = body.decode()
    _expect(status == 200 and "Sign out" in admin and "Jane Cooper" in admin, "an admin page after signing in", admin)
    report.done("admin login → invoice list")


def _wait_until_up(base_url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"gunicorn exited:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SmokeFailure("gunicorn did not answer within a minute")


def _expect(condition: bool, what: str, evidence: str) -> None:
    if not condition:
        raise SmokeFailure(f"expected {what}; got:\n{evidence[:3000]}")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise SmokeFailure(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", action="store_true", help="borrow this interpreter's dependencies")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portal-wheel-smoke-"))
    started = time.monotonic()
    print(f"wheel smoke test in {work}", flush=True)
    try:
        run_smoke(work, light=args.light)
    except SmokeFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wheel smoke test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
