"""WSGI entry point: `gunicorn wsgi:app`. The only place an app is built at import time.

ORDNA_ENV=development (what `make run` sets) selects the embedded defaults: SQLite under
instance/, the bundled Fortnox sandbox, in-process jobs."""

import gc
import os

from app import create_app
from app.config import Config, DevConfig

app = create_app(DevConfig if os.environ.get("ORDNA_ENV") == "development" else Config)

# What is loaded now (the app, its modules, templates' code) lives as long as the process: out
# of the garbage collector's way, so a full collection does not walk it again. One came every
# few requests of the API's order list and took most of a request's time (issue #18).
gc.collect()
gc.freeze()
