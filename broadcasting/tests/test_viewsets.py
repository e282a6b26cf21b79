"""
viewsets.py: a LiveModelViewSet with nothing but a queryset and a serializer is safe.
Each case here is what a newcomer's viewset did before: a 500 on create, another
user's object changed, an author approving their own object, an unordered list.
"""

import contextlib
import dataclasses
import warnings
from unittest import mock

import pytest
from django.core.paginator import UnorderedObjectListWarning
from django.test import override_settings
from django.urls import include, path
from rest_framework import serializers
from rest_framework.routers import DefaultRouter
from rest_framework.test import APIClient

from broadcasting import LiveModelViewSet, live_models
from posts.models import Post
from posts.serializers import PostSerializer
from users.models import User


class OpenPostSerializer(serializers.ModelSerializer):
    """A newcomer's serializer: every field writable, the author too."""

    class Meta:
        model = Post
        fields = ["id", "title", "author", "published"]


class BarePostViewSet(LiveModelViewSet):
    queryset = Post.objects.order_by()  # as a model with no Meta.ordering lists
    serializer_class = PostSerializer


class OpenPostViewSet(LiveModelViewSet):
    queryset = Post.objects.all()
    serializer_class = OpenPostSerializer


class RegisteredSerializerPostViewSet(LiveModelViewSet):
    """Three lines: the registration's serializer serves REST as it serves sockets."""

    queryset = Post.objects.all()


router = DefaultRouter()
router.register("registered-posts", RegisteredSerializerPostViewSet, basename="registered-post")
router.register("bare-posts", BarePostViewSet, basename="bare-post")
router.register("open-posts", OpenPostViewSet, basename="open-post")
urlpatterns = [path("api/", include(router.urls))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("broadcasting.tests.test_viewsets")]


def client_of(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def people():
    return (
        User.objects.create_user("author@example.com", "pw-1234567890"),
        User.objects.create_user("other@example.com", "pw-1234567890"),
        User.objects.create_user("staff@example.com", "pw-1234567890", is_staff=True),
    )


@contextlib.contextmanager
def posts_registered_with(**changes):
    """The posts registration with ``changes`` for the block, as another project would declare it."""
    registered = live_models.for_model(Post)
    changed = dataclasses.replace(registered, **changes)
    live_models._by_model[Post], live_models._by_channel["posts"] = changed, changed
    try:
        yield
    finally:
        live_models._by_model[Post], live_models._by_channel["posts"] = registered, registered


@pytest.fixture
def only_staff_publish():
    """Posts registered as a newcomer would: publishing (``public_when``) is not left to authors."""
    with posts_registered_with(owner_may_change=frozenset()):
        yield


def test_anonymous_writes_are_refused():
    assert client_of(None).post("/api/bare-posts/", {"title": "x"}).status_code in (401, 403)


def test_a_channel_that_refuses_anonymous_sockets_refuses_anonymous_reads_too(people):
    author, _, _ = people
    with posts_registered_with(requires_auth=True):
        assert client_of(None).get("/api/bare-posts/").status_code in (401, 403)
        assert client_of(author).get("/api/bare-posts/").status_code == 200


def test_a_create_is_owned_by_its_writer_not_a_500(people):
    author, _, _ = people
    response = client_of(author).post("/api/bare-posts/", {"title": "mine"})
    assert response.status_code == 201, response.content
    assert Post.objects.get(pk=response.json()["id"]).author == author


def test_only_the_owner_or_staff_change_or_delete_an_object(people):
    author, other, staff = people
    post = Post.objects.create(title="public", author=author, published=True)
    assert client_of(other).patch(f"/api/bare-posts/{post.pk}/", {"title": "taken"}).status_code == 403
    assert client_of(other).delete(f"/api/bare-posts/{post.pk}/").status_code == 403
    assert client_of(author).patch(f"/api/bare-posts/{post.pk}/", {"title": "edited"}).status_code == 200
    assert client_of(staff).patch(f"/api/bare-posts/{post.pk}/", {"title": "moderated"}).status_code == 200
    assert client_of(staff).delete(f"/api/bare-posts/{post.pk}/").status_code == 204


def test_nobody_but_staff_gives_an_object_to_someone_else(people):
    author, other, staff = people
    response = client_of(author).post("/api/open-posts/", {"title": "mine", "author": other.pk})
    assert response.status_code == 201 and Post.objects.get(pk=response.json()["id"]).author == author
    post_id = response.json()["id"]
    client_of(author).patch(f"/api/open-posts/{post_id}/", {"author": other.pk})
    assert Post.objects.get(pk=post_id).author == author
    client_of(staff).patch(f"/api/open-posts/{post_id}/", {"author": other.pk})
    assert Post.objects.get(pk=post_id).author == other


def test_an_author_cannot_make_their_own_object_public_unless_the_registration_says_so(people, only_staff_publish):
    author, _, staff = people
    response = client_of(author).post("/api/open-posts/", {"title": "draft", "published": True})
    assert response.status_code == 201 and Post.objects.get(pk=response.json()["id"]).published is False
    post_id = response.json()["id"]
    client_of(author).patch(f"/api/open-posts/{post_id}/", {"published": True})
    assert Post.objects.get(pk=post_id).published is False
    client_of(staff).patch(f"/api/open-posts/{post_id}/", {"published": True})
    assert Post.objects.get(pk=post_id).published is True


def test_an_owner_may_change_what_the_registration_lets_them(people):
    """posts/live.py: ``owner_may_change=["published"]``, so authors publish their own posts."""
    author, _, _ = people
    post = Post.objects.create(title="draft", author=author)
    assert client_of(author).patch(f"/api/open-posts/{post.pk}/", {"published": True}).status_code == 200
    post.refresh_from_db()
    assert post.published is True


def test_an_unordered_queryset_lists_newest_first_without_a_warning(people):
    author, _, _ = people
    first, second = (Post.objects.create(title=title, author=author, published=True) for title in ("a", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        listed = client_of(None).get("/api/bare-posts/").json()["results"]
    assert [post["id"] for post in listed] == [second.pk, first.pk]


def test_a_viewset_without_a_serializer_uses_the_registrations(people):
    author, _, _ = people
    Post.objects.create(title="shown", author=author, published=True)
    listed = client_of(None).get("/api/registered-posts/").json()["results"]
    assert "author_name" in listed[0]  # a field PostSerializer, the registered one, alone has


def test_the_live_router_serves_each_live_model_registered_with_a_viewset():
    """realtime_site/urls.py includes live_router.urls once; users and posts name their viewsets in live.py."""
    from django.urls import reverse

    from posts.views import PostViewSet
    from users.views import UserViewSet

    with override_settings(ROOT_URLCONF="realtime_site.urls"):
        assert (reverse("user-list"), reverse("post-list")) == ("/api/users/", "/api/posts/")
    assert live_models.for_channel("posts").viewset is PostViewSet
    assert live_models.for_channel("users").viewset is UserViewSet


def test_a_registration_with_viewset_true_gets_one_with_the_registrations_rules_alone():
    from broadcasting.live.registry import LiveModelRegistry
    from broadcasting.viewsets import LiveRouter

    registry = LiveModelRegistry()
    registry.register(Post, channel="plain-posts", owner_field="author", viewset=True)
    router = LiveRouter()
    with mock.patch("broadcasting.viewsets.live_models", registry):
        router.get_urls()
    ((prefix, viewset, basename),) = router.registry
    assert (prefix, basename) == ("plain-posts", "post")
    assert issubclass(viewset, LiveModelViewSet) and viewset.queryset.model is Post
