"""
live/visibility.py: one rule per live model for REST and sockets. A viewset written with
``objects.all()`` still serves only what the sockets would show, and for every object
and reader the REST answer and the socket audiences agree.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from rest_framework.test import APIRequestFactory, force_authenticate

from broadcasting.live import audience
from broadcasting.live.registry import LiveModelRegistry, live_models
from broadcasting.viewsets import LiveModelViewSet
from posts.models import Post
from posts.serializers import PostSerializer

pytestmark = [pytest.mark.django_db, pytest.mark.database]


class CarelessPostViewSet(LiveModelViewSet):
    """A viewset whose queryset forgets who may read what still serves only what its reader may read."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer


def rest_ids(user, pk=None) -> set[int]:
    request = APIRequestFactory().get("/", {"page_size": 1000})
    if user is not None:
        force_authenticate(request, user=user)
    if pk is None:
        response = CarelessPostViewSet.as_view({"get": "list"})(request)
        return {item["id"] for item in response.data["results"]}
    response = CarelessPostViewSet.as_view({"get": "retrieve"})(request, pk=pk)
    return {response.data["id"]} if response.status_code == 200 else set()


@pytest.fixture
def posts(make_user):
    author, other = make_user("author@example.com"), make_user("other@example.com")
    return {
        "author": author,
        "other": other,
        "staff": make_user("staff@example.com", staff=True),
        "published": Post.objects.create(title="out", author=author, published=True),
        "draft": Post.objects.create(title="draft", author=author, published=False),
        "others_draft": Post.objects.create(title="theirs", author=other, published=False),
    }


def test_a_careless_viewset_still_hides_drafts_from_the_public_and_other_users(posts):
    published, draft, others = posts["published"].pk, posts["draft"].pk, posts["others_draft"].pk
    assert rest_ids(None) == {published}
    assert rest_ids(posts["author"]) == {published, draft}
    assert rest_ids(posts["staff"]) == {published, draft, others}
    assert rest_ids(None, pk=draft) == set()  # detail views too: 404, not the draft
    assert rest_ids(posts["other"], pk=draft) == set()
    assert rest_ids(posts["author"], pk=draft) == {draft}


def test_rest_and_socket_audiences_agree_for_every_post_and_reader(posts):
    live_model = live_models.for_model(Post)
    readers = [None, posts["author"], posts["other"], posts["staff"]]
    for post in (posts["published"], posts["draft"], posts["others_draft"]):
        socket_audiences = audience.visible_to(live_model, post)
        for reader in readers:
            on_sockets = bool(set(audience.audiences_of(reader or AnonymousUser())) & socket_audiences)
            over_rest = post.pk in rest_ids(reader)
            assert on_sockets == over_rest, (post.title, reader)
            assert over_rest == Post.objects.visible_to(reader).filter(pk=post.pk).exists()


def test_a_visibility_naming_a_missing_field_is_refused_at_registration():
    registry = LiveModelRegistry()
    with pytest.raises(FieldDoesNotExist):
        registry.register(Post, channel="posts", serializer=PostSerializer, public_when={"approved": True})
    with pytest.raises(FieldDoesNotExist):
        registry.register(Post, channel="posts", serializer=PostSerializer, owner_field="writer")
