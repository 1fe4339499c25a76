"""The README stands alone, and its commands work as written in a fresh shell."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.operations.conftest import CSRF, once_per_suite_run
from tests.operations.wheel_smoke import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: What a checkout holds that `make run` needs (the copy links to them; .venv is the installed one).
CHECKOUT = (
    "Makefile",
    ".venv",
    "portal",
    "migrations",
    "themes",
    "translations",
    "wsgi.py",
    "pyproject.toml",
    "babel.cfg",
)


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^#{1,3} ", text[start + len(heading) :], flags=re.M)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def test_the_readme_links_nothing_outside_the_repository():
    text = README.read_text()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", prose) + re.findall(r"<(\w+://[^>\s]+)>", prose)
    for target in targets:
        if "://" in target:
            host = urlsplit(target).hostname or ""
            assert host in ("127.0.0.1", "localhost") or host.endswith("example.com"), target
        else:
            path = (ROOT / target.split("#", 1)[0]).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), target


def test_every_make_target_the_readme_names_exists():
    text = README.read_text()
    commands = re.findall(r"^make (\S+)", "\n".join(shell_blocks(text)), flags=re.M)
    commands += re.findall(r"`make ([a-z-]+)", text)
    targets = {command for command in commands if "=" not in command}
    assert {"run", "test", "demo-password", "demo-mail", "wheel"} <= targets
    for target in targets:
        dry_run = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry_run.returncode == 0, (target, dry_run.stderr)


# -- make run, twice, in a fresh shell --------------------------------------------------------------


class MakeRun:
    """`make run PORT=…` in its own process group, its output in a file."""

    def __init__(self, checkout: Path, env: dict, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._output = log.open("w")
        # -o: the checkout is installed already; never reinstall it from the copy.
        self.process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=checkout,
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_until_serving(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make run exited:\n{self.output}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"nothing answered on port {self.port}:\n{self.output}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._output.close()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the checkout (links to its files) with an instance folder of its own."""
    if not (ROOT / ".venv" / "bin" / "flask").exists():
        if os.environ.get("CI"):
            pytest.fail("CI runs the README's commands: the checkout's virtual environment is missing (make install)")
        pytest.skip("needs the checkout's virtual environment (make install)")
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in CHECKOUT:
        (copy / name).symlink_to(ROOT / name)
    return copy


@pytest.fixture
def fresh_shell(tmp_path) -> dict:
    """The environment of a new login shell: no FLASK_APP, no PORTAL_*, no virtual environment."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}


@pytest.fixture
def runs() -> Iterator[list[MakeRun]]:
    started: list[MakeRun] = []
    yield started
    for run in started:
        run.stop()


def run_lines(block: str, checkout: Path, env: dict) -> str:
    result = subprocess.run(
        ["bash", "-e", "-c", block], cwd=checkout, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def admin_signs_in(base_url: str, email: str, password: str) -> bool:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), urllib.request.ProxyHandler({}))
    with opener.open(base_url + "/admin/login", timeout=30) as response:
        token = CSRF.search(response.read().decode()).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    request = urllib.request.Request(base_url + "/admin/login", data=data, headers={"Origin": base_url})
    try:
        with opener.open(request, timeout=30) as response:
            return urlsplit(response.url).path == "/admin/invoices"
    except urllib.error.HTTPError:
        return False


def test_make_run_serves_on_the_chosen_port_and_the_readme_commands_work(checkout, fresh_shell, runs, tmp_path):
    once_per_suite_run()
    text = README.read_text()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    first = MakeRun(checkout, fresh_shell, port, tmp_path / "first.log")
    runs.append(first)
    first.wait_until_serving()
    printed = re.search(r"Admin login: +(\S+) / (\S+)", first.output)
    assert printed, first.output
    email, password = printed.groups()
    assert f"Customer portal: {base_url}/l/" in first.output
    assert f"Admin area:      {base_url}/admin" in first.output
    first.stop()

    second = MakeRun(checkout, fresh_shell, port, tmp_path / "second.log")
    runs.append(second)
    second.wait_until_serving()
    assert "make demo-password" in second.output and password not in second.output
    assert admin_signs_in(base_url, email, password)
    # Opening the printed link: the development server's own request line hides the token too.
    link = re.search(r"Customer portal: (\S+)", second.output).group(1)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(), urllib.request.ProxyHandler({}))
    with browser.open(link, timeout=30) as response:
        assert urlsplit(response.url).path == "/" and "Jane Cooper" in response.read().decode()
    token = link.rsplit("/", 1)[1]
    deadline = time.monotonic() + 10
    while "GET /l/<token> HTTP/1.1" not in second.output:  # the line werkzeug wrote, redacted
        assert time.monotonic() < deadline, second.output
        time.sleep(0.1)
    logged = [line for line in second.output.splitlines() if token in line]
    assert logged == [f"  Customer portal: {link}"], logged

    # "The demo from a shell", line by line as written.
    (from_a_shell,) = shell_blocks(section(text, "### The demo from a shell"))
    lines = [line for line in from_a_shell.splitlines() if line.strip()]
    assert lines[0] == "make demo-mail" and lines[1] == "make demo-password"
    mail = run_lines(lines[0], checkout, fresh_shell)
    # The served demo's own job thread prints the queued mail in make run's terminal; demo-mail runs what is left.
    printed = first.output + second.output + mail
    assert "Subject:" in printed and "To: " in printed
    new_password = re.search(r"Admin login: +\S+ / (\S+)", run_lines(lines[1], checkout, fresh_shell)).group(1)
    assert "attempt(s) checked" in run_lines(lines[2], checkout, fresh_shell)
    assert admin_signs_in(base_url, email, new_password)
    assert not admin_signs_in(base_url, email, password)

    # The API walk-through, against this port.
    (api_block,) = shell_blocks(section(text, "## The JSON API"))
    answer = run_lines(api_block.replace("127.0.0.1:5000", f"127.0.0.1:{port}"), checkout, fresh_shell)
    assert '"status":"open"' in answer.replace(" ", "") and '"number":' in answer, answer
