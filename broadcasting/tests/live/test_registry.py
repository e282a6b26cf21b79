"""A third model goes live with one registration and no edit inside broadcasting/."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from rest_framework import serializers

from broadcasting.live.registry import LiveModelRegistry, live_models
from posts.models import Post
from posts.serializers import PostSerializer


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


@pytest.fixture
def groups_channel():
    live_models.register(Group, channel="groups", serializer=GroupSerializer)
    yield
    live_models.unregister(Group)


@pytest.mark.django_db(transaction=True)
async def test_a_newly_registered_model_broadcasts_on_its_channel(groups_channel, listen):
    async with listen("groups") as events:
        group = await sync_to_async(Group.objects.create)(name="editors")
        frame = await events.next_frame()
    assert frame["type"] == "created" and frame["data"] == {"id": group.pk, "name": "editors"}


@pytest.mark.parametrize("channel", ["", "Has-Upper", "spa ce", "x" * 65, "-lead"])
def test_invalid_channel_names_are_refused(channel):
    with pytest.raises(ValueError, match="Invalid channel name"):
        LiveModelRegistry().register(Post, channel=channel, serializer=PostSerializer)


def test_a_channel_cannot_carry_two_models():
    registry = LiveModelRegistry()
    registry.register(Post, channel="things", serializer=PostSerializer)
    with pytest.raises(ValueError, match="already taken"):
        registry.register(Group, channel="things", serializer=GroupSerializer)


def test_shown_fields_follow_the_serializer():
    assert live_models.for_channel("users").shown_fields >= {"email", "name", "is_active"}
    assert "last_login" not in live_models.for_channel("users").shown_fields
