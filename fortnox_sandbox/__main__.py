"""``python -m fortnox_sandbox --host 127.0.0.1 --port 8765``: serve the sandbox (threaded)."""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from . import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fortnox_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--auto-approve", action="store_true", help="approve OAuth requests without the page"
    )
    parser.add_argument("--no-seed", action="store_true", help="start tenants without demo data")
    parser.add_argument(
        "--client",
        action="append",
        metavar="ID:SECRET",
        help="register a client (repeatable; replaces the default ordna-dev client)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="turn off the 25 requests / 5 s limit"
    )
    parser.add_argument(
        "--legacy-limits", action="store_true", help="row Description 50, YourOrderNumber 30"
    )
    args = parser.parse_args(argv)
    config: dict[str, object] = {
        "SANDBOX_AUTO_APPROVE": args.auto_approve,
        "SANDBOX_SEED": not args.no_seed,
        "SANDBOX_LEGACY_LIMITS": args.legacy_limits,
    }
    if args.no_rate_limit:
        config["SANDBOX_RATE_LIMIT"] = None
    if args.client:
        clients = {}
        for spec in args.client:
            client_id, _, secret = spec.partition(":")
            if not client_id or not secret:
                parser.error(f"--client wants ID:SECRET, got {spec!r}")
            clients[client_id] = {"secret": secret, "redirect_uris": None, "service_accounts": True}
        config["SANDBOX_CLIENTS"] = clients
    app = create_app(config)
    print(
        f"Fortnox sandbox on http://{args.host}:{args.port}  "
        f"(FORTNOX_API_URL=http://{args.host}:{args.port}/3, "
        f"FORTNOX_OAUTH_URL=http://{args.host}:{args.port}/oauth-v1)"
    )
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
