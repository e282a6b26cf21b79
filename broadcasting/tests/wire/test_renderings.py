"""Events are rendered once per audience, each exactly as REST shows that audience."""

import json

import pytest

from broadcasting.live import audience
from broadcasting.live.registry import live_models
from broadcasting.wire import frames, renderings
from posts.models import Post
from testing.contract import assert_frame_shape
from users.models import User

pytestmark = pytest.mark.django_db

POSTS = "posts"


def render(instance, *, before: frozenset[str], after: frozenset[str], channel: str = POSTS) -> dict[str, dict]:
    live_model = live_models.for_channel(channel)
    assert live_model is not None
    rendered = renderings.model_event_renderings(
        live_model,
        instance,
        instance.pk,
        7,
        frames.utc_timestamp(),
        visible_before=before,
        visible_after=after,
    )
    return {key: assert_frame_shape(json.loads(text)) for key, text in rendered.renderings.items()}


def visible(instance, channel: str = POSTS) -> frozenset[str]:
    return audience.visible_to(live_models.for_channel(channel), instance)


def test_user_event_shows_email_to_staff_and_self_only(make_user):
    user = make_user("seen@example.com")
    renderings = render(user, before=visible(user, "users"), after=visible(user, "users"), channel="users")
    assert renderings[audience.STAFF]["data"]["email"] == "seen@example.com"
    assert renderings[audience.owner_audience(user.pk)]["data"]["email"] == "seen@example.com"
    assert set(renderings[audience.PUBLIC]["data"]) == {"id", "name", "is_active", "created_at"}
    assert all("password" not in rendering["data"] for rendering in renderings.values())


def test_owner_audiences_share_one_serializer_each_rendered_for_its_own_owner(make_user):
    first, second = make_user("first@example.com"), make_user("second@example.com")
    users = live_models.for_channel("users")
    # Each its own owner: both see their email, though the second builds no new serializer.
    assert renderings.serialize_for(users, first, audience.owner_audience(first.pk))["email"] == "first@example.com"
    shared = renderings._serializer_for(users, audience.owner_audience(first.pk))
    assert renderings.serialize_for(users, second, audience.owner_audience(second.pk))["email"] == "second@example.com"
    assert renderings._serializer_for(users, audience.owner_audience(second.pk)) is shared
    # Another owner's audience does not see the first user's email.
    assert "email" not in renderings.serialize_for(users, first, audience.owner_audience(second.pk))


def test_draft_post_is_rendered_for_staff_and_author_only(make_user):
    post = Post.objects.create(title="draft", author=make_user())
    renderings = render(post, before=frozenset(), after=visible(post))
    assert set(renderings) == {audience.STAFF, audience.owner_audience(post.author_id)}
    assert {frame["type"] for frame in renderings.values()} == {"created"}
    stranger = User(pk=post.author_id + 1000)
    texts = {key: json.dumps(frame) for key, frame in renderings.items()}
    assert audience.pick_rendering(texts, audience.audiences_of(stranger)) is None


def test_published_post_renderings_are_not_duplicated(make_user):
    post = Post.objects.create(title="public", author=make_user(), published=True)
    # Staff and the author see what everyone sees: one rendering serves all.
    assert list(render(post, before=frozenset(), after=visible(post))) == [audience.PUBLIC]


def test_unpublishing_is_a_delete_for_the_public_and_an_update_for_author_and_staff(make_user):
    post = Post.objects.create(title="was public", author=make_user(), published=True)
    before = visible(post)
    post.published = False
    renderings = render(post, before=before, after=visible(post))
    assert renderings[audience.PUBLIC]["type"] == "deleted"
    assert renderings[audience.PUBLIC]["data"] == {"id": post.pk}
    assert renderings[audience.STAFF]["type"] == "updated"
    assert renderings[audience.owner_audience(post.author_id)]["type"] == "updated"


def test_publishing_is_a_create_for_the_public(make_user):
    post = Post.objects.create(title="draft", author=make_user())
    before = visible(post)
    post.published = True
    renderings = render(post, before=before, after=visible(post))
    assert renderings[audience.PUBLIC]["type"] == "created"
    assert renderings[audience.STAFF]["type"] == "updated"


def test_deleted_draft_is_not_announced_to_the_public(make_user):
    post = Post.objects.create(title="draft", author=make_user())
    renderings = render(post, before=visible(post), after=frozenset())
    assert audience.PUBLIC not in renderings
    assert renderings[audience.STAFF] == {**renderings[audience.STAFF], "type": "deleted", "data": {"id": post.pk}}


def test_custom_event_reaches_every_audience():
    texts = renderings.custom_event_renderings("posts", "notice", {"a": 1}, 3, frames.utc_timestamp())
    rendering = audience.pick_rendering(texts, (audience.STAFF, audience.PUBLIC))
    assert json.loads(rendering)["data"] == {"a": 1}


def test_an_update_carries_what_a_filtered_socket_gets_when_the_object_enters_or_leaves_its_filter(make_user):
    post = Post.objects.create(title="public", author=make_user(), published=True)
    live_model = live_models.for_channel(POSTS)
    rendered = renderings.model_event_renderings(
        live_model, post, post.pk, 7, frames.utc_timestamp(), visible_before=visible(post), visible_after=visible(post)
    )
    updated = json.loads(rendered.renderings[audience.PUBLIC])
    entered = assert_frame_shape(json.loads(rendered.entered[audience.PUBLIC]), "created")
    left = assert_frame_shape(json.loads(rendered.left[audience.PUBLIC]), "deleted")
    assert updated["type"] == "updated" and {**entered, "type": "updated"} == updated
    assert left["data"] == {"id": post.pk} and left["seq"] == 7


def test_a_new_object_needs_no_entering_text(make_user):
    post = Post.objects.create(title="new", author=make_user(), published=True)
    rendered = renderings.model_event_renderings(
        live_models.for_channel(POSTS),
        post,
        post.pk,
        7,
        "t",
        visible_before=frozenset(),
        visible_after=visible(post),
        existed_before=False,
    )
    assert rendered.entered == {}
    assert rendered.left == {audience.PUBLIC: audience.NOTHING_VISIBLE}
