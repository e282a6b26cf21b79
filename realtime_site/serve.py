"""
The production server: ``make serve`` runs ``python -m realtime_site.serve``.

uvicorn (with uvloop and httptools) serves the ASGI application with DEBUG off and
static files through whitenoise. It was chosen by measurement against daphne, granian
and hypercorn (bench/RESULTS.md): uvicorn's sends wait while a client does not read,
which is what lets a slow socket be found and closed (delivery/outbox.py), and per-message
deflate is off so an event encoded once is not compressed again for every socket.
Its WebSocket protocol is uvicorn's websockets-sansio one, holding less per socket
(broadcasting/runtime/uvicorn_adapter.py).

WORKERS processes each listen on the same port with SO_REUSEPORT, so the kernel
spreads connections evenly over them. (uvicorn's own ``--workers`` shares one listening
socket, and whichever worker wakes first takes most connections, which made two
workers slower than one in bench/RESULTS.md.)

Thousands of open sockets are hundreds of thousands of long-lived objects, and every
full garbage collection walks them all, pausing the event loop long enough to be the
p99 of delivery (bench/RESULTS.md). Each worker therefore freezes its
heap (``gc.freeze``) every few seconds, so collections walk only what is new, and
once every GC_RECLAIM_SECS unfreezes and collects fully, to reclaim the cycles of
sockets closed meanwhile.

On Redis each worker also starts its event sender (broadcasting/layer/sender.py) as it
starts, so the first write after a start does not wait for the sender to connect.

More than one worker needs REDIS_URL: on the in-memory layer each worker would only
reach its own sockets. On SIGTERM each worker closes its sockets with 1012 (service
restart); clients reconnect, to another worker if one is up, and resume with since.
``make run`` stays the development server (runserver).
"""

import argparse
import gc
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

ASGI_APPLICATION = "realtime_site.asgi:application"
LISTEN_BACKLOG = 2048
GC_FREEZE_SECS = 5.0
GC_RECLAIM_SECS = float(os.environ.get("GC_RECLAIM_SECS", "600"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m realtime_site.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    parser.add_argument("--migrate", action="store_true", help="apply migrations before serving (make serve does)")
    parser.add_argument(
        "--collectstatic", action="store_true", help="collect static files into STATIC_ROOT first (make serve does)"
    )
    return parser.parse_args(argv)


def refusal(args: argparse.Namespace, environ: dict[str, str]) -> str | None:
    """Why this configuration must not start, or None."""
    if args.workers < 1:
        return "WORKERS must be at least 1."
    if args.workers > 1 and not (environ.get("REDIS_URL") or environ.get("REDIS_SENTINELS")):
        return (
            f"WORKERS={args.workers} needs REDIS_URL: on the in-memory channel layer a worker reaches only "
            "its own sockets, so events written through one worker would never reach the others. "
            "Set REDIS_URL=redis://host:6379/0 (or REDIS_SENTINELS), or run one worker."
        )
    if not environ.get("DJANGO_SECRET_KEY"):
        return (
            "DJANGO_SECRET_KEY is not set; the production server runs with DEBUG off and needs one. "
            'Make one with: python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    return None


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other workers may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(LISTEN_BACKLOG)
    return listener


def freeze_heap_forever(freeze_secs: float = GC_FREEZE_SECS, reclaim_secs: float = GC_RECLAIM_SECS) -> None:
    """The body of a worker's heap-freezing thread (see the module docstring)."""
    since_reclaim = 0.0
    while True:
        time.sleep(freeze_secs)
        since_reclaim += freeze_secs
        if since_reclaim >= reclaim_secs:
            since_reclaim = 0.0
            gc.unfreeze()
            gc.collect()
        gc.freeze()


def max_client_frame_bytes() -> int:
    """REALTIME["MAX_CLIENT_FRAME_BYTES"] from the environment, before Django's settings are loaded."""
    from broadcasting.conf import DEFAULTS

    return int(os.environ.get("REALTIME_MAX_CLIENT_FRAME_BYTES", DEFAULTS["MAX_CLIENT_FRAME_BYTES"]))


def uvicorn_config(host: str, port: int, loop: str = "uvloop") -> "uvicorn.Config":
    """A worker's uvicorn settings (bench/socket_memory.py measures under them, on the asyncio loop)."""
    import uvicorn

    from broadcasting.runtime.uvicorn_adapter import LeanWebSocketProtocol

    return uvicorn.Config(
        ASGI_APPLICATION,
        host=host,
        port=port,
        loop=loop,
        http="httptools",
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=False,
        # A client frame over the limit is refused (close 1009) as its header is read, never buffered.
        ws_max_size=max_client_frame_bytes(),
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        access_log=False,
        log_config=None,  # uvicorn's records go to Django's LOGGING: JSON under LOG_FORMAT=json
        log_level=os.environ.get("DJANGO_LOG_LEVEL", "info").lower(),
        timeout_graceful_shutdown=10,
        backlog=LISTEN_BACKLOG,
    )


def run_worker(host: str, port: int, number: int = 0, workers: int = 1) -> None:
    """One worker process: uvicorn on its own SO_REUSEPORT socket; SIGTERM closes sockets with 1012."""
    import uvicorn

    config = uvicorn_config(host, port)
    config.load()  # imports the application: Django's startup heap, frozen next
    from broadcasting.layer.transport import warm_up_sender  # once Django is set up: the layer is a setting
    from realtime_site.startup_line import startup_line

    warm_up_sender()
    supervisor_log(startup_line(host, port, number, workers), level="INFO", worker=number, pid=os.getpid())
    gc.collect()
    gc.freeze()
    threading.Thread(target=freeze_heap_forever, name="gc-freezer", daemon=True).start()
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def supervisor_log(message: str, level: str = "WARNING", **fields: object) -> None:
    """One line on stderr, whatever the log level (the supervisor runs no Django): JSON under LOG_FORMAT=json."""
    if os.environ.get("LOG_FORMAT") == "json":
        line = json.dumps({"message": message, "name": "realtime_site.serve", "levelname": level, **fields})
    else:
        line = f"serve: {message}"
    print(line, file=sys.stderr, flush=True)


# A worker that dies is started again, at most WORKER_RESTARTS times per WORKER_RESTART_WINDOW_SECS;
# past that budget (a worker that dies as it starts, say) the supervisor stops them all and fails.
WORKER_RESTARTS = 5
WORKER_RESTART_WINDOW_SECS = 60.0


def supervise(host: str, port: int, workers: int) -> int:
    """
    Start the workers, replace any that dies (within the restart budget), pass SIGTERM
    and SIGINT on to them, and wait; non-zero if one failed or the budget ran out.
    """
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start(number: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=run_worker, args=(host, port, number, workers), name=f"worker-{number}")
        process.start()
        return process

    processes = {number: start(number) for number in range(workers)}

    def forward(signum, frame) -> None:
        stopping.set()
        for process in processes.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    restarts: list[float] = []
    budget_spent = False
    # uvicorn ends a worker by the signal it shut down for: that is a clean stop.
    clean_exit_codes = {0, -signal.SIGTERM, -signal.SIGINT}
    while any(process.is_alive() for process in processes.values()):
        multiprocessing.connection.wait([process.sentinel for process in processes.values()], timeout=1.0)
        if stopping.is_set():
            continue
        for number, process in list(processes.items()):
            if process.is_alive() or stopping.is_set():
                continue
            now = time.monotonic()
            restarts[:] = [at for at in restarts if now - at < WORKER_RESTART_WINDOW_SECS]
            if len(restarts) >= WORKER_RESTARTS:
                supervisor_log(
                    f"worker-{number} (pid {process.pid}) exited with {process.exitcode}; "
                    f"{WORKER_RESTARTS} restarts in {WORKER_RESTART_WINDOW_SECS:.0f}s already, stopping",
                    worker=number,
                    exit_code=process.exitcode,
                )
                budget_spent = True
                forward(signal.SIGTERM, None)
                break
            restarts.append(now)
            processes[number] = start(number)
            supervisor_log(
                f"worker-{number} (pid {process.pid}) exited with {process.exitcode}; "
                f"started again as pid {processes[number].pid}",
                worker=number,
                exit_code=process.exitcode,
                pid=processes[number].pid,
            )
    for process in processes.values():
        process.join()
    if budget_spent:
        return 1
    return 0 if all(process.exitcode in clean_exit_codes for process in processes.values()) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime_site.settings")
    reason = refusal(args, dict(os.environ))
    if reason:
        print(f"serve: {reason}", file=sys.stderr)
        return 2
    import django

    django.setup()
    from realtime_site.database_refusal import database_refusal

    reason = database_refusal()
    if reason:
        print(f"serve: {reason}", file=sys.stderr)
        return 2
    from django.core.management import call_command

    if args.migrate:
        call_command("migrate", interactive=False)
    if args.collectstatic:
        call_command("collectstatic", interactive=False, verbosity=0)
    # Each worker holds its share of the per-address and per-user socket limits, so the
    # limits hold for the whole server (broadcasting/sockets/limits.py).
    os.environ["REALTIME_SERVER_PROCESSES"] = str(args.workers)
    if args.workers == 1:
        run_worker(args.host, args.port)
        return 0
    return supervise(args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
