"""live/derived.py: a registration without a serializer gets one that shows nothing private."""

import pytest

from broadcasting.live.derived import derived_filterset, derived_serializer, shown_field_names
from broadcasting.live.registry import LiveModelRegistry
from posts.models import Post
from users.models import User


def test_private_looking_fields_are_never_shown():
    assert "password" not in shown_field_names(User)
    assert {"id", "email", "name"} <= set(shown_field_names(User))


@pytest.mark.django_db
def test_a_derived_serializer_shows_the_concrete_fields_and_keeps_the_owner_read_only():
    author = User.objects.create_user("author@example.com", "pw-1234567890")
    other = User.objects.create_user("other@example.com", "pw-1234567890")
    serializer_class = derived_serializer(Post, "author")
    post = Post.objects.create(title="t", author=author, published=True)
    shown = serializer_class(post).data
    assert set(shown) == {"id", "title", "body", "author", "published", "created_at", "updated_at"}
    writing = serializer_class(post, data={"title": "new", "author": other.pk}, partial=True)
    assert writing.is_valid(), writing.errors
    assert "author" not in writing.validated_data and writing.validated_data["title"] == "new"


def test_a_registration_without_a_serializer_gets_the_derived_one():
    live_model = LiveModelRegistry().register(Post, channel="plain-posts", owner_field="author")
    assert live_model.serializer_class.__name__ == "PostLiveSerializer"
    assert "author" in live_model.shown_fields


def test_a_derived_filterset_filters_on_foreign_keys_booleans_and_choices():
    filterset = derived_filterset(Post)
    assert filterset is not None and set(filterset.base_filters) == {"author", "published"}
    assert derived_filterset(type("Plain", (), {"_meta": type("M", (), {"concrete_fields": []})()})) is None


@pytest.mark.django_db
def test_private_fields_are_shown_to_staff_and_the_owner_alone_on_sockets_and_over_rest():
    from rest_framework.test import APIRequestFactory

    from broadcasting.live import audience
    from broadcasting.wire.renderings import serialize_for

    author = User.objects.create_user("author@example.com", "pw-1234567890")
    stranger = User.objects.create_user("stranger@example.com", "pw-1234567890")
    post = Post.objects.create(title="t", body="only for the author", author=author, published=True)
    live_model = LiveModelRegistry().register(
        Post, channel="private-posts", owner_field="author", private_fields=["body"]
    )

    assert "body" not in serialize_for(live_model, post, audience.PUBLIC)
    assert serialize_for(live_model, post, audience.owner_audience(author.pk))["body"] == "only for the author"
    assert serialize_for(live_model, post, audience.STAFF)["body"] == "only for the author"

    def over_rest(user) -> dict:
        request = APIRequestFactory().get("/")
        request.user = user
        return live_model.serializer_class(post, context={"request": request}).data

    assert "body" not in over_rest(stranger) and over_rest(author)["body"] == "only for the author"
