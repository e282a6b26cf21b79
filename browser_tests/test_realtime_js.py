"""
realtime.js's own logic in a real browser, with the WebSocket replaced by a scripted
fake: gap detection and resume, duplicates, sync frames, backoff and permanent closes.
The page tests cover the same client against the real server.
"""

import pytest

FAKE_SOCKET = """
window.openedSockets = [];
window.WebSocket = class FakeSocket {
  static OPEN = 1;
  constructor(url) { this.url = String(url); this.readyState = 1; this.sent = []; window.openedSockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code, reason) { this.readyState = 3; this.closedWith = code; }
  emit(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  drop(code, reason = "") { this.readyState = 3; this.onclose({ code, reason }); }
};
window.tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
window.event = (type, seq, id) =>
  ({ type, seq, channel: "posts", model: "posts", timestamp: new Date().toISOString(), data: { id } });
window.connection = (seq) =>
  ({ type: "connection", channel: "posts", client_id: "t", seq, epoch: "e1", message: "", timestamp: "" });
"""


@pytest.fixture
def js(site_page):
    site_page.evaluate(FAKE_SOCKET)
    return site_page


@pytest.fixture
def site_page(live_stack, new_page):
    server = live_stack().start_server()
    page = new_page()
    page.goto(f"{server.http_url}/ws/stats")  # any same-origin page will do
    return page


def test_a_seq_gap_closes_the_socket_and_resumes_from_the_last_applied_seq(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const seen = [];
        new LiveChannel("posts", { clientId: "t", onEvent: (e) => seen.push(e.seq) }).open();
        await tick();
        const first = openedSockets[0];
        first.emit(connection(5));
        first.emit(event("created", 6, 1));
        first.emit(event("created", 6, 1));   // duplicate: ignored
        first.emit({ type: "sync", channel: "posts", seq: 7 });   // skipped for us: no gap
        first.emit({ type: "sync", channel: "posts", seq: 7 });   // idle heartbeat
        first.emit(event("created", 9, 2));   // 8 is missing: resume
        await tick();
        return { seen, closed: first.closedWith, reopened: openedSockets[1] && openedSockets[1].url };
    }"""
    )
    assert result["seen"] == [6]
    assert result["closed"] == 4000
    assert "since=7" in result["reopened"] and "epoch=e1" in result["reopened"] and "client_id=t" in result["reopened"]


BACKOFF_RUN = """async (randomValue) => {
    const { LiveChannel } = await import("/static/broadcasting/realtime.js");
    Math.random = () => randomValue;   // pin the jitter to one end of its range
    const statuses = [];
    const onStatus = (s, d) => statuses.push([s, d.delayMs ?? null]);
    new LiveChannel("posts", { clientId: "t", maxBackoffSecs: 5, onStatus }).open();
    await tick();
    openedSockets[0].emit(connection(3));
    for (let drop = 0; drop < 6; drop++) {
        const opened = openedSockets.length;
        openedSockets[opened - 1].drop(1006);
        while (openedSockets.length === opened) await tick(5);   // wait out the retry delay
    }
    const resumed = openedSockets[openedSockets.length - 1];
    resumed.emit(connection(3));
    resumed.drop(1006);
    return { statuses, urls: openedSockets.map((s) => s.url) };
}"""


@pytest.fixture
def fast_retries(js):
    """Timers of 0.5-6 s (the retries here; not the 10 s and 25 s heartbeat ones) fire at once."""
    js.evaluate(
        "() => { const real = window.setTimeout;"
        " window.setTimeout = (fn, ms, ...a) => real(fn, ms >= 500 && ms < 6000 ? 0 : ms, ...a); }"
    )
    return js


def reconnect_delays(statuses):
    return [delay for status, delay in statuses if status == "reconnecting" and delay is not None]


def test_reconnect_delays_double_up_to_the_cap_and_start_over_once_live(fast_retries):
    result = fast_retries.evaluate(BACKOFF_RUN, 0.9999)
    # Full jitter's ceiling: 1 s, 2 s, 4 s, then the 5 s cap; once live again it starts at 1 s.
    assert reconnect_delays(result["statuses"]) == [999, 1999, 3999, 4999, 4999, 4999, 999]
    assert all("since=3" in url for url in result["urls"][1:])
    assert ["live", None] in result["statuses"]


def test_full_jitter_lets_a_retry_come_at_once(fast_retries):
    result = fast_retries.evaluate(BACKOFF_RUN, 0.0)
    assert reconnect_delays(result["statuses"]) == [0] * 7


def test_permanent_refusals_do_not_reconnect(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const statuses = [];
        new LiveChannel("users", { clientId: "t", onStatus: (s, d) => statuses.push([s, d.code ?? null]) }).open();
        await tick();
        openedSockets[0].drop(4401, "auth_required");
        await tick(1200);
        return { statuses, sockets: openedSockets.length };
    }"""
    )
    assert result["statuses"][-1] == ["closed", 4401]
    assert result["sockets"] == 1


def test_reset_reloads_through_load_and_resubscribes_from_the_new_snapshot(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        let loads = 0;
        const load = async () => ({ seq: loads++ === 0 ? 10 : 50, epoch: "e1" });
        new LiveChannel("posts", { clientId: "t", load }).open();
        await tick();
        openedSockets[0].emit(connection(12));
        openedSockets[0].emit({ type: "reset", channel: "posts", seq: 50, epoch: "e1", reason: "pruned" });
        await tick();
        return { loads, urls: openedSockets.map((s) => s.url) };
    }"""
    )
    assert result["loads"] == 2
    assert "since=10" in result["urls"][0] and "since=50" in result["urls"][1]


def test_ping_resolves_with_the_round_trip(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const channel = new LiveChannel("posts", { clientId: "t" }).open();
        await tick();
        const socket = openedSockets[0];
        socket.emit(connection(0));
        const pinging = channel.ping();
        await tick(30);
        socket.emit({ type: "pong", message: "pong" });
        return { ms: await pinging, sent: socket.sent };
    }"""
    )
    assert result["sent"] == [{"type": "ping"}]
    assert result["ms"] >= 25


def test_a_truncated_event_is_refetched_over_rest_and_delivered_in_order(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const fetched = [];
        window.fetch = async (url) => {
          fetched.push(new URL(url).pathname);
          await tick(50);   // slower than the next event's arrival
          if (String(url).includes("/3/")) return new Response("", { status: 404 });
          return new Response(JSON.stringify({ id: 1, title: "whole", body: "x".repeat(10) }), { status: 200 });
        };
        const seen = [];
        const onEvent = (e) => seen.push([e.seq, e.type, e.data, e.truncated ?? null]);
        new LiveChannel("posts", { clientId: "t", onEvent }).open();
        await tick();
        const socket = openedSockets[0];
        socket.emit(connection(5));
        socket.emit({ ...event("created", 6, 1), truncated: true });
        socket.emit({ ...event("updated", 7, 2), data: { id: 2, title: "small" } });
        socket.emit({ ...event("updated", 8, 3), truncated: true });
        await tick(300);
        return { seen, fetched };
    }"""
    )
    assert result["fetched"] == ["/api/posts/1/", "/api/posts/3/"]
    assert result["seen"] == [
        [6, "created", {"id": 1, "title": "whole", "body": "xxxxxxxxxx"}, None],
        [7, "updated", {"id": 2, "title": "small"}, None],
        [8, "deleted", {"id": 3}, None],
    ]


def test_a_filtered_channel_keeps_its_filter_and_a_sync_covers_a_skipped_stretch(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const seen = [];
        new LiveChannel("posts", { clientId: "t", filter: { author: 3 }, onEvent: (e) => seen.push(e.seq) }).open();
        await tick();
        const first = openedSockets[0];
        first.emit(connection(5));
        first.emit({ type: "sync", channel: "posts", seq: 9 });   // 6..9 were outside the filter
        first.emit(event("created", 10, 1));
        first.drop(1006);
        await tick(1100);
        return { seen, urls: openedSockets.map((s) => s.url), sockets: openedSockets.length };
    }"""
    )
    assert result["seen"] == [10]  # no resume for the skipped stretch: 10 follows the sync
    assert all("author=3" in url for url in result["urls"])
    assert "since=10" in result["urls"][-1]


def test_one_live_socket_carries_many_subscriptions_each_resuming_on_its_own(fast_retries):
    result = fast_retries.evaluate(
        """async () => {
        const { LiveSocket } = await import("/static/broadcasting/realtime.js");
        Math.random = () => 0.9;   // the reconnect waits 900 ms, which fast_retries makes 0
        const seen = { posts: [], users: [] };
        const statuses = [];
        const live = new LiveSocket({ clientId: "t" }).open();
        live.subscribe("posts", { filter: { author: 3 }, onEvent: (e) => seen.posts.push(e.seq),
                                  onStatus: (s) => statuses.push(`posts ${s}`) });
        live.subscribe("users", { onEvent: (e) => seen.users.push(e.seq) });
        await tick();
        const first = openedSockets[0];
        first.emit({ type: "connection", message: "Connected", client_id: "t", timestamp: "" });
        await tick();
        const subscribes = first.sent.filter((f) => f.type === "subscribe");
        first.emit({ type: "subscribed", channel: "posts", seq: 5, epoch: "e1" });
        first.emit({ type: "subscribed", channel: "users", seq: 9, epoch: "e2" });
        first.emit({ ...event("created", 6, 1), channel: "posts" });
        first.emit({ type: "sync", channel: "posts", seq: 8 });
        first.emit({ ...event("created", 10, 7), channel: "users", model: "users" });
        first.emit({ ...event("created", 11, 2), channel: "posts" });   // posts 9..10 lost: posts alone resumes
        await tick();
        const resumedPosts = first.sent.slice(subscribes.length);
        first.emit({ ...event("created", 12, 3), channel: "posts" });   // the old subscription's: ignored
        first.emit({ type: "subscribed", channel: "posts", seq: 11, epoch: "e1" });
        first.emit({ ...event("created", 9, 2), channel: "posts" });    // replayed after since=8
        first.drop(1006);
        await tick(50);
        const second = openedSockets[1];
        second.emit({ type: "connection", message: "Connected", client_id: "t", timestamp: "" });
        await tick();
        return { subscribes, resumedPosts, seen, statuses, again: second.sent };
    }"""
    )
    assert result["subscribes"] == [
        {"type": "subscribe", "channel": "posts", "filter": {"author": 3}},
        {"type": "subscribe", "channel": "users", "filter": {}},
    ]
    assert result["resumedPosts"] == [
        {"type": "unsubscribe", "channel": "posts"},
        {"type": "subscribe", "channel": "posts", "filter": {"author": 3}, "since": 8, "epoch": "e1"},
    ]
    assert result["seen"] == {"posts": [6, 9], "users": [10]}
    assert result["again"] == [
        {"type": "subscribe", "channel": "posts", "filter": {"author": 3}, "since": 9, "epoch": "e1"},
        {"type": "subscribe", "channel": "users", "filter": {}, "since": 10, "epoch": "e2"},
    ]
    assert "posts live" in result["statuses"] and "posts reconnecting" in result["statuses"]


def test_presence_is_asked_on_each_connection_and_kept_by_joins_and_leaves(js):
    result = js.evaluate(
        """async () => {
        const { LiveChannel } = await import("/static/broadcasting/realtime.js");
        const calls = [];
        const channel = new LiveChannel("posts", { clientId: "t", presence: {
            onJoin: (user) => calls.push(`join ${user.name}`),
            onLeave: (user) => calls.push(`leave ${user.name}`),
            onChange: (s) => calls.push(`${s.users.map((u) => u.name).join("+")} ${s.userCount} ${s.anonymous}`),
        } }).open();
        await tick();
        const first = openedSockets[0];
        first.emit(connection(5));
        const asked = first.sent.slice();
        first.emit({ type: "presence", channel: "posts",
                     data: { users: [{ id: 1, name: "ann" }], user_count: 1, anonymous: 2 } });
        first.emit({ type: "join", channel: "posts", data: { user: { id: 2, name: "bo" } } });
        first.emit({ type: "join", channel: "posts", data: { user: { id: 2, name: "bo" } } });  // again: once
        first.emit({ type: "leave", channel: "posts", data: { user: { id: 1 } } });
        first.emit(event("created", 6, 9));   // events go on, seqs untouched by presence
        const state = channel.presence.state;
        first.drop(1006);
        await tick(1200);
        openedSockets[1].emit(connection(6));
        channel.close();
        return { asked, calls, state, lastSeq: channel.lastSeq, askedAgain: openedSockets[1].sent };
    }"""
    )
    assert result["asked"] == [{"type": "get_presence"}]
    assert result["calls"] == ["ann 1 2", "join bo", "ann+bo 2 2", "join bo", "ann+bo 2 2", "leave ann", "bo 1 2"]
    assert result["state"] == {"users": [{"id": 2, "name": "bo"}], "userCount": 1, "anonymous": 2}
    assert result["lastSeq"] == 6
    assert result["askedAgain"] == [{"type": "get_presence"}]


def test_a_subscription_asks_presence_for_its_channel(fast_retries):
    result = fast_retries.evaluate(
        """async () => {
        const { LiveSocket } = await import("/static/broadcasting/realtime.js");
        const live = new LiveSocket({ clientId: "t" }).open();
        const names = [];
        const posts = live.subscribe("posts", { presence: { onChange: (s) => names.push(s.users.map((u) => u.id)) } });
        live.subscribe("users", {});
        await tick();
        const socket = openedSockets[0];
        socket.emit({ type: "connection", message: "Connected", client_id: "t", timestamp: "" });
        await tick();
        socket.emit({ type: "subscribed", channel: "posts", seq: 1, epoch: "e" });
        socket.emit({ type: "subscribed", channel: "users", seq: 1, epoch: "e" });
        socket.emit({ type: "presence", channel: "posts", data: { users: [{ id: 4 }], user_count: 1, anonymous: 0 } });
        socket.emit({ type: "join", channel: "users", data: { user: { id: 5 } } });   // not posts': ignored
        posts.unsubscribe();
        return { sent: socket.sent.filter((f) => f.type === "get_presence"), names, state: posts.presence.state };
    }"""
    )
    assert result["sent"] == [{"type": "get_presence", "channel": "posts"}]
    assert result["names"] == [[4]]
    assert result["state"]["users"] == [{"id": 4}]


def test_a_snapshot_follows_every_page_of_the_list_in_its_order(live_stack, new_page):
    import httpx

    stack = live_stack()
    token = stack.create_user("writer@example.com")
    server = stack.start_server()
    for number in range(5):
        response = httpx.post(
            f"{server.http_url}/api/posts/",
            json={"title": f"post {number}", "published": True},
            headers={"Authorization": f"Token {token}"},
        )
        assert response.status_code == 201
    page = new_page()
    page.goto(f"{server.http_url}/ws/stats")
    result = page.evaluate(
        """async () => {
        const { fetchSnapshot } = await import("/static/broadcasting/realtime.js");
        const snapshot = await fetchSnapshot("/api/posts/", { pageSize: 2 });
        let stopped = null;
        try {
          await fetchSnapshot("/api/posts/", { pageSize: 2, maxPages: 2 });
        } catch (error) {
          stopped = error.code;
        }
        return { titles: snapshot.items.map((post) => post.title), seq: snapshot.seq, pages: snapshot.pages, stopped };
    }"""
    )
    assert result == {
        "titles": ["post 4", "post 3", "post 2", "post 1", "post 0"],
        "seq": 5,
        "pages": 3,
        "stopped": "too_many_pages",
    }


def test_a_snapshot_read_while_the_list_moved_starts_over_and_says_so_if_it_never_settles(js):
    result = js.evaluate(
        """async () => {
        const { fetchSnapshot } = await import("/static/broadcasting/realtime.js");
        let calls = 0;
        const page = (seq, items, next) =>
          new Response(JSON.stringify({ results: items, next }), { headers: { "X-Channel-Seq": String(seq) } });
        // The first read sees seq 7 then 8 (a write between its pages); the second is steady.
        const answers = [page(7, [{ id: 3 }], "/api/posts/?page=2"), page(8, [{ id: 1 }], null),
                         page(8, [{ id: 4 }, { id: 3 }], "/api/posts/?page=2"), page(8, [{ id: 1 }], null)];
        window.fetch = async () => answers[calls++];
        const settled = await fetchSnapshot("/api/posts/");
        window.fetch = async () => page(calls++, [{ id: 1 }], "/api/posts/?page=2");
        let error = null;
        try { await fetchSnapshot("/api/posts/"); } catch (caught) { error = caught.code; }
        return { ids: settled.items.map((item) => item.id), seq: settled.seq, error };
    }"""
    )
    assert result == {"ids": [4, 3, 1], "seq": 8, "error": "kept_changing"}


def test_apply_event_keeps_the_lists_order(js):
    result = js.evaluate(
        """async () => {
        const { applyEvent } = await import("/static/broadcasting/realtime.js");
        const post = (id, created_at) => ({ id, created_at });
        let newestFirst = [post(2, "2026-01-02"), post(1, "2026-01-01")];
        const order = "-created_at,-id";
        newestFirst = applyEvent(newestFirst, { type: "created", data: post(3, "2026-01-03") }, { order });
        newestFirst = applyEvent(newestFirst, { type: "updated", data: post(1, "2026-01-04") }, { order });
        let byId = [{ id: 1 }, { id: 5 }];
        byId = applyEvent(byId, { type: "created", data: { id: 3 } }, { order: "id" });
        const unordered = applyEvent([{ id: 1 }], { type: "created", data: { id: 2 } });
        const noOrderGiven = applyEvent([{ id: 1 }], { type: "created", data: { id: 2 } }, { order: undefined });
        return { newestFirst: newestFirst.map((item) => item.id), byId: byId.map((item) => item.id),
                 unordered: unordered.map((item) => item.id), noOrderGiven: noOrderGiven.map((item) => item.id) };
    }"""
    )
    assert result == {"newestFirst": [1, 3, 2], "byId": [1, 3, 5], "unordered": [1, 2], "noOrderGiven": [1, 2]}
