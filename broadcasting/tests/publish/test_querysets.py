"""Each bulk write path of a live model emits its events: no silent miss."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.core import checks

from broadcasting import no_broadcast
from broadcasting.checks import check_live_models_use_live_querysets
from broadcasting.live.registry import live_models
from posts.models import Post
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def author() -> User:
    with no_broadcast():
        return User.objects.create_user("author@example.com")


def make_posts(count: int, **fields) -> list[Post]:
    owner = author()
    with no_broadcast():
        return [Post.objects.create(title=f"p{n}", author=owner, **fields) for n in range(count)]


async def test_queryset_update_sends_one_updated_per_object(listen):
    posts = await sync_to_async(make_posts)(3, published=True)
    async with listen("posts") as events:
        changed = await sync_to_async(Post.objects.filter(pk__in=[p.pk for p in posts]).update)(title="bulk")
        frames = [await events.next_frame() for _ in posts]
        await events.assert_nothing()
    assert changed == 3
    assert sorted(frame["data"]["id"] for frame in frames) == sorted(p.pk for p in posts)
    assert {(frame["type"], frame["data"]["title"]) for frame in frames} == {("updated", "bulk")}


async def test_queryset_update_that_publishes_is_a_create_for_the_public(listen):
    posts = await sync_to_async(make_posts)(2)
    async with listen("posts") as events:
        await sync_to_async(Post.objects.filter(pk__in=[p.pk for p in posts]).update)(published=True)
        frames = [await events.next_frame(audiences=("public",)) for _ in posts]
    assert {frame["type"] for frame in frames} == {"created"}


async def test_bulk_create_sends_one_created_per_object(listen):
    owner = await sync_to_async(author)()
    async with listen("posts") as events:
        created = await sync_to_async(Post.objects.bulk_create)(
            [Post(title=f"b{n}", author=owner, published=True) for n in range(3)]
        )
        frames = [await events.next_frame() for _ in created]
        await events.assert_nothing()
    assert [frame["data"]["id"] for frame in frames] == [post.pk for post in created]
    assert [frame["seq"] for frame in frames] == [frames[0]["seq"] + n for n in range(3)]


async def test_bulk_update_sends_one_updated_per_object(listen):
    posts = await sync_to_async(make_posts)(2, published=True)
    for post in posts:
        post.body = "bulk body"
    async with listen("posts") as events:
        await sync_to_async(Post.objects.bulk_update)(posts, ["body"])
        frames = [await events.next_frame() for _ in posts]
        await events.assert_nothing()
    assert {frame["data"]["body"] for frame in frames} == {"bulk body"}


async def test_manager_bulk_create_of_users_sends_events(listen):
    async with listen("users") as events:
        await sync_to_async(User.objects.bulk_create)([User(email="u1@example.com"), User(email="u2@example.com")])
        frames = [await events.next_frame(), await events.next_frame()]
    assert {frame["data"]["email"] for frame in frames} == {"u1@example.com", "u2@example.com"}


async def test_bulk_writes_inside_no_broadcast_send_nothing(listen):
    posts = await sync_to_async(make_posts)(2, published=True)

    def quiet_update() -> None:
        with no_broadcast():
            Post.objects.filter(pk__in=[p.pk for p in posts]).update(title="quiet")

    async with listen("posts") as events:
        await sync_to_async(quiet_update)()
        await events.assert_nothing()


def test_a_live_model_without_a_live_queryset_fails_the_system_check():
    from rest_framework import serializers

    class GroupSerializer(serializers.ModelSerializer):
        class Meta:
            model = Group
            fields = ["id", "name"]

    live_models.register(Group, channel="groups", serializer=GroupSerializer)
    try:
        errors = check_live_models_use_live_querysets()
    finally:
        live_models.unregister(Group)
    assert [error.id for error in errors] == ["broadcasting.E001"]
    assert all(isinstance(error, checks.Error) for error in errors)
    assert check_live_models_use_live_querysets() == []
