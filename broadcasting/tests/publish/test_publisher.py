"""The broadcast_* API: custom and all-channel events, explicit model events, failures."""

import logging

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from broadcasting.layer.transport import event_sender
from broadcasting.log.sequence import current_seq
from broadcasting.publish import publisher
from posts.models import Post
from testing.live_server import free_port
from testing.redis_server import redis_channel_layers
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


async def test_broadcast_custom_sends_the_guides_shape_with_a_seq(listen):
    async with listen("users") as events:
        seq_before = await sync_to_async(current_seq)("users")
        await sync_to_async(publisher.broadcast_custom)("users", "user_login", {"user_id": 123})
        frame = await events.next_frame()
    assert frame == {**frame, "type": "user_login", "channel": "users", "data": {"user_id": 123}}
    assert frame["seq"] == seq_before + 1


@pytest.mark.parametrize("event", ["created", "error", "connection", "has space", ""])
def test_broadcast_custom_refuses_protocol_and_malformed_names(event):
    with pytest.raises(ValueError):
        publisher.broadcast_custom("users", event, {})


def test_broadcast_custom_refuses_unknown_channel():
    with pytest.raises(ValueError, match="Unknown channel"):
        publisher.broadcast_custom("nope", "hello", {})


async def test_broadcast_to_all_channels_reaches_every_channel(listen):
    async with listen("users") as users_events, listen("posts") as posts_events:
        await sync_to_async(publisher.broadcast_to_all_channels)(
            {"type": "maintenance", "message": "Server will restart in 5 minutes"}
        )
        for events, channel in ((users_events, "users"), (posts_events, "posts")):
            frame = await events.next_frame()
            assert frame["type"] == "maintenance" and frame["channel"] == channel
            assert frame["data"] == {"message": "Server will restart in 5 minutes"}


async def test_explicit_broadcast_created_after_bulk_create(listen):
    def bulk() -> list[Post]:
        author = User.objects.create_user("bulk@example.com")
        posts = Post.objects.bulk_create([Post(title=f"b{i}", author=author, published=True) for i in range(2)])
        for post in posts:
            publisher.broadcast_created(post)
        return posts

    async with listen("posts") as events:
        posts = await sync_to_async(bulk)()
        frames = [await events.next_frame(), await events.next_frame()]
    assert [frame["data"]["id"] for frame in frames] == [post.pk for post in posts]


def test_broadcast_of_an_unregistered_model_is_an_error():
    from rest_framework.authtoken.models import Token

    with pytest.raises(ValueError, match="not registered"):
        publisher.broadcast_created(Token(key="x"))


def test_dead_redis_never_fails_a_committed_api_write(make_user, api_client_for, caplog):
    """Redis refusing connections: the write commits and returns 201; the failure is logged."""
    dead_layer = redis_channel_layers(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    author = make_user()
    with override_settings(CHANNEL_LAYERS=dead_layer), caplog.at_level(logging.WARNING, "broadcasting"):
        response = api_client_for(author).post("/api/posts/", {"title": "survives"}, format="json")
        assert event_sender.drain(timeout_secs=10)
    assert response.status_code == 201
    assert Post.objects.filter(title="survives").exists()
    assert "Not publishing 1 event(s) (posts, seq 1" in caplog.text
    event_sender.circuit.open_until = 0.0  # the next test's layer is a working one
