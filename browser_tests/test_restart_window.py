"""
realtime.js after a 1012 (a deploy): the first reconnect comes within restartWindowSecs,
not within 1 s, so a deploy's clients do not all come back in the same second; and
against a real `make serve` restarted under it, every tab comes back and resumes.
"""

import signal
import time

import httpx
import pytest

from browser_tests.test_realtime_js import FAKE_SOCKET, reconnect_delays

RESTART_RUN = """async ([randomValue, windowSecs]) => {
    const { LiveChannel } = await import("/static/broadcasting/realtime.js");
    Math.random = () => randomValue;
    const statuses = [];
    const onStatus = (s, d) => statuses.push([s, d.delayMs ?? null]);
    const options = { clientId: "t", onStatus };
    if (windowSecs !== null) options.restartWindowSecs = windowSecs;
    const mine = openedSockets.length;   // a run before this one left its sockets in the list
    new LiveChannel("posts", options).open();
    await tick();
    openedSockets[mine].emit(connection(3));
    openedSockets[mine].drop(1012, "server restarting");
    return { statuses };
}"""


@pytest.fixture
def js(live_stack, new_page):
    server = live_stack().start_server()
    page = new_page()
    page.goto(f"{server.http_url}/ws/stats")
    page.evaluate(FAKE_SOCKET)
    return page


@pytest.mark.parametrize(("window_secs", "ceiling_ms"), [(None, 5000), (12, 12000), (0.5, 500)])
def test_the_first_reconnect_after_a_1012_comes_within_the_restart_window(js, window_secs, ceiling_ms):
    latest = js.evaluate(RESTART_RUN, [0.99999, window_secs])
    earliest = js.evaluate(RESTART_RUN, [0.0, window_secs])
    assert reconnect_delays(latest["statuses"]) == [ceiling_ms - 1]
    assert reconnect_delays(earliest["statuses"]) == [0]


def test_another_drop_keeps_the_one_second_first_retry(js):
    result = js.evaluate(RESTART_RUN.replace("drop(1012", "drop(1006"), [0.9999, 12])
    assert reconnect_delays(result["statuses"]) == [999]


TAB = """async (windowSecs) => {
    const { connect, fetchSnapshot } = await import("/static/broadcasting/realtime.js");
    window.seen = [];
    window.delays = [];
    window.statuses = [];
    connect("posts", {
        restartWindowSecs: windowSecs,
        load: () => fetchSnapshot("/api/posts/"),
        onEvent: (event) => window.seen.push(event.seq),
        onStatus: (status, detail) => {
            window.statuses.push(status);
            if (detail.delayMs !== undefined) window.delays.push(detail.delayMs);
        },
    });
    while (!window.statuses.includes("live")) await new Promise((r) => setTimeout(r, 20));
}"""

TABS = 6
WINDOW_SECS = 3


@pytest.mark.redis
def test_tabs_on_a_restarted_server_come_back_spread_over_the_window_and_miss_nothing(live_stack, new_page):
    stack = live_stack(use_redis=True)
    token = stack.create_user("writer@example.com")
    old = stack.start_server("serve", workers=2)
    tabs = []
    for _ in range(TABS):
        page = new_page()
        page.goto(f"{old.http_url}/ws/stats")
        page.evaluate(TAB, WINDOW_SECS)
        tabs.append(page)
    with httpx.Client(base_url=old.http_url, timeout=10, headers={"Authorization": f"Token {token}"}) as api:

        def write(title: str) -> None:
            assert api.post("/api/posts/", json={"title": title, "published": True}).status_code == 201

        write("before")
        stack.start_server("serve", workers=2, port=old.port)  # the new release
        old.process.send_signal(signal.SIGTERM)
        write("during")
        deadline = time.monotonic() + WINDOW_SECS + 10
        while time.monotonic() < deadline and not all(
            tab.evaluate("window.statuses.filter((s) => s === 'live').length") >= 2 for tab in tabs
        ):
            time.sleep(0.1)
        write("after")
        last_seq = int(api.get("/api/posts/", params={"page_size": 1}).headers["X-Channel-Seq"])
    for tab in tabs:
        tab.wait_for_function(f"window.seen.includes({last_seq})", timeout=10_000)
    seen = [tab.evaluate("window.seen") for tab in tabs]
    assert all(seqs == [last_seq - 2, last_seq - 1, last_seq] for seqs in seen), seen  # each write, once, in order
    delays = [tab.evaluate("window.delays")[0] for tab in tabs]
    assert all(0 <= delay < WINDOW_SECS * 1000 for delay in delays), delays
    assert len(set(delays)) > 1, delays  # spread, not one instant
