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
