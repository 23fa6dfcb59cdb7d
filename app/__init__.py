"""Ordna: the application factory. A table of contents, nothing else."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from app import security
from app.config import Config


def create_app(config: type[Config] | None = None) -> Flask:
    """Build the app from a config class (default: `Config`, read from the environment).

    Raises RuntimeError when SECRET_KEY or the Fortnox app's credentials are missing outside
    development and tests (never the sandbox's credentials in production)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config or Config)
    if not app.config.get("ALLOW_INSECURE_SECRET"):
        for name in ("SECRET_KEY", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET"):
            if not app.config.get(name):
                raise RuntimeError(f"{name} must be set (see README: Configuration)")
    register_extensions(app)
    security.install(app)  # before the blueprints: their <int:…> ids use its converter
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every model registered with the metadata)
    from app.api.common import install_messages
    from app.auth.services import load_user
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.i18n import select_locale
    from app.jobs import init_jobs
    from app.mail import init_mail
    from app.web import install_html_params

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    install_html_params()  # WTForms' field attributes, rendered cheaper (issue #18)
    babel.init_app(app, locale_selector=select_locale)
    init_jobs(app)
    init_mail(app)
    install_messages()  # marshmallow's default messages in Swedish (the API's schemas)


def register_blueprints(app: Flask) -> None:
    from app.api import init_api
    from app.articles.routes import bp as articles_bp
    from app.auth.routes import bp as auth_bp
    from app.customers.routes import bp as customers_bp
    from app.customfields.routes import bp as customfields_bp
    from app.integrations.health import bp as health_bp
    from app.integrations.routes import bp as integrations_bp
    from app.integrations.send_routes import bp as fortnox_send_bp
    from app.integrations.snapshot_routes import bp as snapshots_bp
    from app.main.routes import bp as main_bp
    from app.orders.routes import bp as orders_bp
    from app.settings.routes import bp as settings_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(articles_bp)
    app.register_blueprint(customfields_bp)
    app.register_blueprint(integrations_bp)
    app.register_blueprint(fortnox_send_bp)
    app.register_blueprint(snapshots_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(settings_bp)
    init_api(app)


def register_error_handlers(app: Flask) -> None:
    from app.errors import init_error_handlers

    init_error_handlers(app)


def register_cli(app: Flask) -> None:
    from app.cli import init_cli
    from app.integrations.fortnox.cli import fortnox
    from app.schedule import scheduler_command

    init_cli(app)
    app.cli.add_command(fortnox)
    app.cli.add_command(scheduler_command)
