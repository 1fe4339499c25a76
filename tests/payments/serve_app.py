"""Serve one app instance on loopback in its own process (run as python -m); prints its port."""

from __future__ import annotations

import json
import os

from werkzeug.serving import make_server

from tests.conftest import build_app


def main() -> None:
    settings = json.loads(os.environ["SERVE_APP_SETTINGS"])
    app = build_app(settings["DATABASE_URL"], **settings["config"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
