"""The app the soak's `flask worker` and `flask fortnox sweep` processes run: wsgi.py's app,
plus ``FORTNOX_SEND_LEASE_SECONDS`` from the environment (app/config.py does not read that
setting from the environment, so the campaign sets it here)."""

import os

from wsgi import app

if os.environ.get("FORTNOX_SEND_LEASE_SECONDS"):
    app.config["FORTNOX_SEND_LEASE_SECONDS"] = int(os.environ["FORTNOX_SEND_LEASE_SECONDS"])

__all__ = ["app"]
