"""
deploy/nginx.conf as shipped, run by Debian's nginx in front of a real `make serve`:
the config is valid, sockets upgrade through it (the Origin check still sees the
public host and port), events arrive, static files and the API answer, and the
client address the server keys its limits on is the one nginx saw.
"""

import shutil
import subprocess
import time

import httpx
import pytest

from testing import services
from testing.live_server import PROJECT_DIR, free_port
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
