"""The Dockerfile and compose.yaml describe the production shape with real commands (no engine runs here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from portal.cli import portal_cli

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker")


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def command_words(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def flask_commands(words: list[str]) -> list[list[str]]:
    """Return each `flask --app portal …` invocation in a command, shell scripts included."""
    text = " ".join(words)
    return [shlex.split(match) for match in re.findall(r"flask --app portal ([a-z -]+)", text)]


def test_compose_runs_web_the_job_worker_postgresql_and_redis_and_no_scheduler():
    services = compose()["services"]
    # The workers fire the scheduled duties themselves: no scheduler container, no cron.
    assert set(services) == {*APP_SERVICES, "db", "redis"}
    assert services["db"]["image"].startswith("postgres:") and services["redis"]["image"].startswith("redis:")
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["image"] == "invoice-portal", name
        environment = service["environment"]
        assert (
            environment["PORTAL_DATABASE_URL"].startswith("postgresql://")
            and "@db/" in environment["PORTAL_DATABASE_URL"]
        )
        assert environment["PORTAL_RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
        assert environment["PORTAL_PROXY_HOPS"] == "1"

    web = command_words(services["web"])
    assert web[0] == "gunicorn" and web[-1] == "portal:create_app()"
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_commands_are_real_cli_commands():
    services = compose()["services"]
    invoked = {name: flask_commands(command_words(services[name])) for name in ("migrate", "worker")}
    assert invoked["migrate"] == [["db", "upgrade"]]
    assert invoked["worker"] == [["portal", "worker"]]
    for commands in invoked.values():
        for words in commands:
            if words[0] == "portal":
                assert words[1] in portal_cli.commands, words


def test_the_image_installs_the_wheel_with_weasyprints_libraries_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, flags=re.M)
    assert stages and all(re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", image) for image in stages)
    assert "pip wheel" in dockerfile and re.search(r"pip install .*invoice_portal-\*\.whl", dockerfile)
    # The same Debian libraries the Makefile installs for WeasyPrint (less what only the tests need).
    makefile = (ROOT / "Makefile").read_text()
    system = set(re.search(r"^SYSTEM_PACKAGES := (.+)$", makefile, flags=re.M).group(1).split())
    runtime = system - {"chromium", "zbar-tools", "nginx"}  # those only the tests use
    assert runtime <= set(dockerfile.split())
    user = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert user and user[-1] not in ("root", "0")
    cmd = re.search(r"^CMD (.+)$", dockerfile, flags=re.M).group(1)
    assert "gunicorn" in cmd and "portal:create_app()" in cmd
