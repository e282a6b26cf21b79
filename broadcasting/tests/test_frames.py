"""Events are rendered once per audience, each exactly as REST shows that audience."""

import json

import pytest

from broadcasting import audience, frames
from broadcasting.registry import live_models
from posts.models import Post
from users.models import User

pytestmark = pytest.mark.django_db


def decoded(renderings: dict[str, str]) -> dict[str, dict]:
    return {key: json.loads(text) for key, text in renderings.items()}


def test_user_event_shows_email_to_staff_and_self_only(make_user):
    user = make_user("seen@example.com")
    renderings = decoded(
        frames.model_event_renderings(live_models.for_channel("users"), "updated", user, user.pk, 7, "t")
    )
    assert renderings[audience.STAFF]["data"]["email"] == "seen@example.com"
    assert renderings[audience.owner_audience(user.pk)]["data"]["email"] == "seen@example.com"
    assert set(renderings[audience.PUBLIC]["data"]) == {"id", "name", "is_active", "created_at"}
    assert all("password" not in rendering["data"] for rendering in renderings.values())


def test_draft_post_is_rendered_for_staff_and_author_only(make_user):
    post = Post.objects.create(title="draft", author=make_user())
    renderings = frames.model_event_renderings(live_models.for_channel("posts"), "created", post, post.pk, 1, "t")
    assert audience.PUBLIC not in renderings
    assert audience.pick_rendering(renderings, audience.audiences_of(post.author)) is not None
    stranger = User(pk=post.author_id + 1000)
    assert audience.pick_rendering(renderings, audience.audiences_of(stranger)) is None


def test_published_post_renderings_are_not_duplicated(make_user):
    post = Post.objects.create(title="public", author=make_user(), published=True)
    renderings = frames.model_event_renderings(live_models.for_channel("posts"), "created", post, post.pk, 1, "t")
    # Staff and the author see what everyone sees: one rendering serves all.
    assert list(renderings) == [audience.PUBLIC]


def test_deleted_draft_is_not_announced_to_the_public(make_user):
    post = Post.objects.create(title="draft", author=make_user())
    renderings = frames.model_event_renderings(live_models.for_channel("posts"), "deleted", post, post.pk, 1, "t")
    assert audience.PUBLIC not in renderings
    assert json.loads(renderings[audience.STAFF])["data"] == {"id": post.pk}


def test_custom_event_reaches_every_audience():
    renderings = frames.custom_event_renderings("posts", "notice", {"a": 1}, 3, frames.utc_timestamp())
    assert json.loads(audience.pick_rendering(renderings, (audience.STAFF, audience.PUBLIC)))["data"] == {"a": 1}
