"""
deploy/nginx.conf as shipped, run by Debian's nginx in front of a real `make serve`:
the config is valid, sockets upgrade through it (the Origin check still sees the
public host and port), events arrive, static files and the API answer, and the
client address the server keys its limits on is the one nginx saw.
"""

import os
import shutil
import subprocess
import time
from urllib.parse import urlsplit

import httpx
import pytest

from testing import services
from testing.live_server import PROJECT_DIR, drop_postgres_database, free_port, listeners_on
from testing.sockets import Socket

pytestmark = pytest.mark.live_server

MAIN_CONFIG = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/realtime_site.conf;
}}
"""


def nginx_path() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/sbin/nginx") if shutil.which(path)), None
    )


@pytest.fixture
def nginx_in_front(tmp_path):
    """Factory: nginx_in_front(backend_port) runs deploy/nginx.conf on a free port; returns that port."""
    nginx = nginx_path()
    services.require(nginx is not None, "nginx is not installed (apt-get install nginx)")
    processes = []

    def start(backend_port: int) -> int:
        port = free_port()
        site = (PROJECT_DIR / "deploy" / "nginx.conf").read_text()
        assert "server 127.0.0.1:8000;" in site and "listen 80;" in site
        site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend_port};")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        (tmp_path / "realtime_site.conf").write_text(site)
        main = tmp_path / "nginx.conf"
        main.write_text(MAIN_CONFIG.format(work=tmp_path))
        checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(main)], stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return port
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("nginx did not answer in 10 s")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


async def test_the_shipped_nginx_config_passes_sockets_api_and_static_files(live_stack, nginx_in_front):
    stack = live_stack(NUM_PROXIES="1", DJANGO_BEHIND_PROXY="1", REALTIME_MAX_SOCKETS_PER_ADDRESS="1")
    token = stack.create_user("staff@example.com", staff=True)
    server = stack.start_server(kind="serve")
    port = nginx_in_front(server.port)
    public = f"http://127.0.0.1:{port}"

    socket = await Socket.open(f"ws://127.0.0.1:{port}/ws/posts", origin=public)
    await socket.connected()
    async with httpx.AsyncClient(base_url=public, timeout=10) as api:
        assert (await api.get("/static/broadcasting/realtime.js")).status_code == 200
        assert (await api.get("/readyz")).status_code == 200
        created = await api.post(
            "/api/posts/",
            json={"title": "through nginx", "published": True},
            headers={"Authorization": f"Token {token}"},
        )
        assert created.status_code == 201, created.text
    frame = await socket.recv("created")
    assert frame["data"]["title"] == "through nginx"
    await socket.close()

    # The server compared the Origin with nginx's public host and port, not its own.
    with pytest.raises(Exception, match="403"):
        await Socket.open(f"ws://127.0.0.1:{port}/ws/posts", origin=server.http_url)
    # The address the server counts is the one nginx saw, whatever X-Forwarded-For a
    # client sends: a second socket under another made-up address is over the cap of 1.
    held = await Socket.open(
        f"ws://127.0.0.1:{port}/ws/posts", origin=public, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    await held.connected()
    refused = await Socket.open(
        f"ws://127.0.0.1:{port}/ws/posts", origin=public, headers={"X-Forwarded-For": "203.0.113.10"}
    )
    assert (await refused.recv("error"))["code"] == "too_many_connections"
    assert await refused.closed_with() == 4429
    await held.close()


def unit_file_for(project_dir) -> str:
    """deploy/realtime-site.service with /srv/realtime_site pointing at ``project_dir``."""
    unit = (PROJECT_DIR / "deploy" / "realtime-site.service").read_text()
    assert "/srv/realtime_site" in unit
    return unit.replace("/srv/realtime_site", str(project_dir))


def test_the_shipped_service_file_is_valid_and_runs_what_make_serve_runs(tmp_path):
    analyze = shutil.which("systemd-analyze")
    services.require(analyze is not None, "systemd-analyze is not installed")
    unit = tmp_path / "realtime-site.service"
    unit.write_text(unit_file_for(PROJECT_DIR))
    checked = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    exec_start = next(line for line in unit.read_text().splitlines() if line.startswith("ExecStart="))
    make_serve = next(
        line for line in (PROJECT_DIR / "Makefile").read_text().splitlines() if "realtime_site.serve" in line
    )
    assert "-m realtime_site.serve --migrate --collectstatic --host" in exec_start
    assert "-m realtime_site.serve --migrate --collectstatic --host" in make_serve


@pytest.mark.postgres
@pytest.mark.redis
def test_the_deploy_guide_from_an_empty_database(tmp_path, postgres_admin_url, redis_url):
    """
    docs/deploy.md's steps: createdb, the example environment file, then the service's
    own command (migrate, collectstatic, two workers). Probes by address answer, static
    files come from STATIC_ROOT, and the log holds only the startup lines.
    """
    name = services.unique_name("rt_guide")
    admin = urlsplit(postgres_admin_url)
    created = subprocess.run(
        ["createdb", "-h", admin.hostname or "127.0.0.1", "-p", str(admin.port or 5432), "-U", "postgres", name],
        capture_output=True, text=True,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    try:
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
        }
        example = (PROJECT_DIR / "deploy" / "realtime-site.env.example").read_text()
        env.update(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
        env.update(
            DATABASE_URL=f"postgres://postgres@{admin.hostname}:{admin.port or 5432}/{name}",
            REDIS_URL=redis_url,
            REDIS_KEY_PREFIX=services.unique_name("rt_guide"),
            DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"),
            DJANGO_HTTPS="0",  # no TLS in front here: the probes alone are asked, by address
        )
        port = free_port()
        exec_start = next(
            line for line in unit_file_for(PROJECT_DIR).splitlines() if line.startswith("ExecStart=")
        ).removeprefix("ExecStart=")
        command = exec_start.replace("${WORKERS}", env["WORKERS"]).replace("--port 8000", f"--port {port}").split()
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
                    if ready and listeners_on(port) >= 2:  # both workers up, each past its startup line
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert (tmp_path / "staticfiles" / "broadcasting" / "realtime.js").is_file()
            script = httpx.get(
                f"http://127.0.0.1:{port}/static/broadcasting/realtime.js", headers={"Host": "example.com"}
            )
            assert script.status_code == 200 and "LiveSocket" in script.text
        finally:
            process.terminate()
            process.wait(timeout=30)
        log = log_path.read_text()
        assert log.count("listening on http://127.0.0.1") == 2, log
        assert "database PostgreSQL" in log and "channel layer Redis" in log
        assert "Traceback" not in log and "Warning" not in log, log
    finally:
        drop_postgres_database(postgres_admin_url, name)
