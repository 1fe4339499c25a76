"""Press Pay in a process of its own, so a test can kill it half-way (run as python -m)."""

from __future__ import annotations

import json
import os
import sys

from tests.conftest import build_app
from tests.payments.conftest import press_pay, sign_in


def main() -> None:
    settings = json.loads(os.environ["PAY_CHILD_SETTINGS"])
    app = build_app(settings.pop("DATABASE_URL"), **settings.pop("config"))
    client = app.test_client()
    sign_in(app, client, settings["customer_id"])
    print("pressing", flush=True)
    response = press_pay(client, settings["number"], settings["provider"])
    print("answered", response.status_code, flush=True)


if __name__ == "__main__":
    sys.exit(main())
