"""`make run`: serve the app on its embedded defaults, with the bundled Fortnox sandbox.

The sandbox (fortnox_sandbox/) runs in a thread on 127.0.0.1:8765 unless FORTNOX_API_URL
points elsewhere; the app serves on 127.0.0.1:5000 (PORT to change). The sandbox needs no
Fortnox OpenAPI file: without ../shared/fortnox/openapi.json it validates against its own
description, and says so at start."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server, run_simple  # noqa: E402

SANDBOX_PORT = 8765


def start_sandbox() -> str | None:
    if os.environ.get("FORTNOX_API_URL"):
        return None  # a real or other Fortnox-compatible server was chosen
    try:
        from fortnox_sandbox import create_app as create_sandbox
    except ImportError:
        return None
    server = make_server("127.0.0.1", SANDBOX_PORT, create_sandbox(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{SANDBOX_PORT}"


def main() -> None:
    from wsgi import app

    port = int(os.environ.get("PORT", "5000"))
    sandbox = start_sandbox()
    print()
    print(f"  Ordna runs at http://127.0.0.1:{port}/")
    print("  Demo logins (password demo1234):")
    print("    admin@example.com (admin), kontor@example.com (office),")
    print("    tekniker1@example.com … tekniker3@example.com (technicians)")
    if sandbox:
        from fortnox_sandbox.schema import description_in_use

        print(f"  Fortnox sandbox: {sandbox} (client ordna-dev; no Fortnox account needed)")
        print(f"    checks request bodies against {description_in_use()}")
    print()
    if app.config.get("JOBS_INLINE"):
        # No Redis: the timetable (sweeps, hourly and nightly syncs) and the change feed run
        # in threads of this process; with Redis, `flask scheduler` and `flask fortnox feed`.
        from app.integrations.fortnox.feed import start_inline_feed
        from app.schedule import start_inline_scheduler

        start_inline_scheduler(app)
        start_inline_feed(app)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
