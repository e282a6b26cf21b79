"""
Filtered and one-object sockets (live/filters.py): /ws/<channel>?<the REST list's
filters> and /ws/<channel>/<pk>, through the whole ASGI application on the in-memory
layer. Objects entering the set arrive as created, leaving as deleted; skipped events
cost one sync before the next frame; visibility still applies; bad filters are refused
as the REST list refuses them.
"""

import random

import httpx
import pytest
from asgiref.sync import sync_to_async

from posts.models import Post
from testing.api import auth
from testing.asgi_sockets import make_user_with_token, open_socket, refused_with
from testing.sockets import Socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def create_post(**fields) -> Post:
    return Post.objects.create(**{"published": True, **fields})


def update_post(post: Post, **fields) -> None:
    for name, value in fields.items():
        setattr(post, name, value)
    post.save()


async def frames_until(socket, seq: int) -> list[dict]:
    """Every frame up to the one with ``seq`` (a sync or an event)."""
    received: list[dict] = []
    while not received or received[-1].get("seq") != seq:
        received.append(await socket.recv())
    return received


async def test_objects_entering_a_filter_arrive_as_created_and_leaving_as_deleted():
    ada, _ = await sync_to_async(make_user_with_token)("ada@example.com")
    bob, _ = await sync_to_async(make_user_with_token)("bob@example.com")
    socket = await open_socket(f"/ws/posts?author={ada.pk}&published=true")
    start = (await socket.recv("connection"))["seq"]

    await sync_to_async(create_post)(title="bob's", author=bob)  # outside the set: nothing
    await socket.assert_nothing()
    mine = await sync_to_async(create_post)(title="ada's", author=ada)
    sync, created = await frames_until(socket, start + 2)
    assert (sync["type"], sync["seq"]) == ("sync", start + 1)  # one sync says what was skipped
    assert (created["type"], created["data"]["title"]) == ("created", "ada's")

    await sync_to_async(update_post)(mine, title="ada's, edited")
    assert (await socket.recv("updated"))["data"]["title"] == "ada's, edited"
    moved = await sync_to_async(create_post)(title="moves over", author=bob)
    await sync_to_async(update_post)(moved, author=ada)  # enters the set
    sync, entered = await frames_until(socket, start + 5)
    assert (sync["seq"], entered["type"], entered["data"]["id"]) == (start + 4, "created", moved.pk)
    await sync_to_async(update_post)(mine, published=False)  # leaves the set
    left = await socket.recv("deleted")
    assert left["data"] == {"id": mine.pk} and left["seq"] == start + 6
    moved_pk = moved.pk
    await sync_to_async(moved.delete)()
    assert (await socket.recv("deleted"))["data"] == {"id": moved_pk}
    await socket.close()


async def test_a_filter_never_shows_what_visibility_hides():
    ada, _ = await sync_to_async(make_user_with_token)("ada@example.com")
    _, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    staff = await open_socket(f"/ws/posts?author={ada.pk}", token=staff_token)
    anonymous = await open_socket(f"/ws/posts?author={ada.pk}")
    await staff.recv("connection")
    await anonymous.recv("connection")
    draft = await sync_to_async(create_post)(title="draft", author=ada, published=False)
    assert (await staff.recv("created"))["data"]["title"] == "draft"
    await anonymous.assert_nothing()
    await sync_to_async(update_post)(draft, published=True)
    assert (await staff.recv("updated"))["data"]["published"] is True
    # Anonymous readers get it only now that it is public: as created, after one sync.
    await anonymous.recv("sync")
    assert (await anonymous.recv("created"))["data"]["title"] == "draft"
    await staff.close()
    await anonymous.close()


@pytest.mark.parametrize("query", ["author=999999", "author=abc"])
async def test_values_the_rest_list_refuses_are_refused_with_4400(query, client):
    assert (await sync_to_async(client.get)(f"/api/posts/?{query}")).status_code == 400
    await refused_with(f"/ws/posts?{query}", 4400, "invalid_filter")


async def test_an_unknown_filter_parameter_is_refused_with_4400():
    await refused_with("/ws/posts?colour=red&published=true", 4400, "invalid_filter")


async def test_a_staff_only_filter_is_refused_for_others_on_sockets_too():
    _, token = await sync_to_async(make_user_with_token)("reader@example.com")
    await refused_with("/ws/users?is_staff=true", 4400, "invalid_filter", token=token)
    _, staff_token = await sync_to_async(make_user_with_token)("staff@example.com", staff=True)
    socket = await open_socket("/ws/users?is_staff=true", token=staff_token)
    await socket.recv("connection")
    await socket.close()


async def test_a_one_object_socket_follows_that_object_through_update_and_delete():
    ada, _ = await sync_to_async(make_user_with_token)("ada@example.com")
    watched = await sync_to_async(create_post)(title="watched", author=ada)
    other = await sync_to_async(create_post)(title="other", author=ada)
    socket = await open_socket(f"/ws/posts/{watched.pk}/")
    await socket.recv("connection")
    await sync_to_async(update_post)(other, title="other, edited")
    await socket.assert_nothing()
    await sync_to_async(update_post)(watched, title="watched, edited")
    await socket.recv("sync")  # the skipped edit of the other post
    assert (await socket.recv("updated"))["data"]["title"] == "watched, edited"
    watched_pk = watched.pk
    await sync_to_async(watched.delete)()
    assert (await socket.recv("deleted"))["data"] == {"id": watched_pk}
    await socket.close()
    await refused_with("/ws/posts/not-a-number", 4400, "invalid_filter")


async def test_a_filtered_socket_resumes_with_only_its_sets_events():
    ada, _ = await sync_to_async(make_user_with_token)("ada@example.com")
    bob, _ = await sync_to_async(make_user_with_token)("bob@example.com")
    socket = await open_socket(f"/ws/posts?author={ada.pk}")
    start = (await socket.recv("connection"))["seq"]
    await socket.close()
    for number in range(3):
        await sync_to_async(create_post)(title=f"bob {number}", author=bob)
        await sync_to_async(create_post)(title=f"ada {number}", author=ada)
    resumed = await open_socket(f"/ws/posts?author={ada.pk}&since={start}")
    assert (await resumed.recv("connection"))["seq"] == start + 6
    received = await frames_until(resumed, start + 6)
    assert [(frame["type"], frame["seq"]) for frame in received] == [
        ("sync", start + 1),
        ("created", start + 2),
        ("sync", start + 3),
        ("created", start + 4),
        ("sync", start + 5),
        ("created", start + 6),
    ]
    await resumed.close()


@pytest.mark.live_server
async def test_a_filtered_socket_on_a_real_server_holds_exactly_the_filtered_rest_list(live_stack):
    """
    Random REST writes by two authors; the socket's state equals GET with the same filter.
    The last events may be outside the set: an idle sync (after 1 s here) then says so.
    """
    stack = live_stack(REALTIME_IDLE_SYNC_SECS="1")
    ada_token, bob_token = stack.create_user("ada@example.com"), stack.create_user("bob@example.com")
    server = stack.start_server()
    rng = random.Random(11)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as api:
        users = (await api.get("/api/users/", headers=auth(ada_token))).json()["results"]
        ada_id = next(user["id"] for user in users if user.get("email") == "ada@example.com")
        query = {"author": str(ada_id), "published": "true"}
        listed = await api.get("/api/posts/", params=query)
        state = {post["id"]: post for post in listed.json()["results"]}
        since = listed.headers["X-Channel-Seq"]
        socket = await Socket.open(f"{server.ws_url}/ws/posts?author={ada_id}&published=true&since={since}")
        await socket.connected()
        posts: dict[int, str] = {}  # id -> the token of its author
        for number in range(40):
            token = rng.choice([ada_token, bob_token])
            mine = [pk for pk, owner in posts.items() if owner == token]
            if not mine or rng.random() < 0.5:
                body = {"title": f"post {number}", "published": rng.random() < 0.6}
                created = await api.post("/api/posts/", json=body, headers=auth(token))
                posts[created.json()["id"]] = token
            elif rng.random() < 0.75:
                pk = rng.choice(mine)
                changes = {"title": f"edit {number}", "published": rng.random() < 0.6}
                await api.patch(f"/api/posts/{pk}/", json=changes, headers=auth(token))
            else:
                pk = rng.choice(mine)
                await api.delete(f"/api/posts/{pk}/", headers=auth(token))
                del posts[pk]
        final = await api.get("/api/posts/", params={**query, "page_size": 1000})
        final_seq = int(final.headers["X-Channel-Seq"])
        last_seq = int(since)
        while last_seq < final_seq:
            frame = await socket.recv()
            assert frame["seq"] > last_seq
            last_seq = frame["seq"]
            if frame["type"] == "deleted":
                state.pop(frame["data"]["id"])  # KeyError: a delete of an object it never had
            elif frame["type"] in ("created", "updated"):
                assert (frame["type"] == "created") == (frame["data"]["id"] not in state)
                state[frame["data"]["id"]] = frame["data"]
        await socket.close()
    truth = {post["id"]: post for post in final.json()["results"]}
    assert {pk: post["title"] for pk, post in state.items()} == {pk: post["title"] for pk, post in truth.items()}
    assert truth  # the run did put some of ada's published posts in the set


async def test_a_one_object_socket_on_someone_elses_draft_learns_nothing_until_it_is_public():
    ada, _ = await sync_to_async(make_user_with_token)("ada@example.com")
    _, bob_token = await sync_to_async(make_user_with_token)("bob@example.com")
    draft = await sync_to_async(create_post)(title="secret", author=ada, published=False)
    for path in (f"/ws/posts/{draft.pk}", f"/ws/posts/{draft.pk}?published=false"):
        anonymous, bob = await open_socket(path), await open_socket(path, token=bob_token)
        await anonymous.recv("connection")
        await bob.recv("connection")
        await sync_to_async(update_post)(draft, title="still secret")
        await anonymous.assert_nothing()
        await bob.assert_nothing()
        await anonymous.close()
        await bob.close()
    watching = await open_socket(f"/ws/posts/{draft.pk}", token=bob_token)
    await watching.recv("connection")
    await sync_to_async(update_post)(draft, published=True)  # the next seq: nothing skipped, no sync
    assert (await watching.recv("created"))["data"]["title"] == "still secret"
    await watching.close()
