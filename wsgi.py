"""WSGI entry point: `gunicorn wsgi:app`. The only place an app is built at import time.

ORDNA_ENV=development (what `make run` sets) selects the embedded defaults: SQLite under
instance/, the bundled Fortnox sandbox, in-process jobs."""

import os

from app import create_app
from app.config import Config, DevConfig

app = create_app(DevConfig if os.environ.get("ORDNA_ENV") == "development" else Config)
