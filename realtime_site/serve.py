"""
The production server: ``make serve`` runs ``python -m realtime_site.serve``.

uvicorn (with uvloop and httptools) serves the ASGI application with DEBUG off and
static files through whitenoise, WORKERS processes sharing one listening port. It was
chosen by measurement against daphne, granian and hypercorn (bench/RESULTS.md):
uvicorn's sends wait while a client does not read, which is what lets a slow socket
be found and closed (outbox.py), and per-message deflate is off so an event encoded
once is not compressed again for every socket.

More than one worker needs REDIS_URL: on the in-memory layer each worker would only
reach its own sockets. On SIGTERM each worker closes its sockets with 1012 (service
restart); clients reconnect, to another worker if one is up, and resume with since.
``make run`` stays the development server (runserver).
"""

import argparse
import os
import sys

ASGI_APPLICATION = "realtime_site.asgi:application"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m realtime_site.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    return parser.parse_args(argv)


def refusal(args: argparse.Namespace, environ: dict[str, str]) -> str | None:
    """Why this configuration must not start, or None."""
    if args.workers < 1:
        return "WORKERS must be at least 1."
    if args.workers > 1 and not environ.get("REDIS_URL"):
        return (
            f"WORKERS={args.workers} needs REDIS_URL: on the in-memory channel layer a worker reaches only "
            "its own sockets, so events written through one worker would never reach the others. "
            "Set REDIS_URL=redis://host:6379/0, or run one worker."
        )
    if not environ.get("DJANGO_SECRET_KEY"):
        return (
            "DJANGO_SECRET_KEY is not set; the production server runs with DEBUG off and needs one. "
            'Make one with: python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")
    reason = refusal(args, dict(os.environ))
    if reason:
        print(f"serve: {reason}", file=sys.stderr)
        return 2

    import uvicorn

    uvicorn.run(
        ASGI_APPLICATION,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        access_log=False,
        log_level=os.environ.get("DJANGO_LOG_LEVEL", "info").lower(),
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
