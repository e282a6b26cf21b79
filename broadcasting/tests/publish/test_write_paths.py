"""
Writes through the Django admin, the ORM (as a shell would) and the REST API all
broadcast: each write path emits exactly the events it should.
"""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from broadcasting import no_broadcast
from broadcasting.log.sequence import current_seq
from posts.models import Post
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def admin_client() -> tuple[Client, User]:
    with no_broadcast():
        admin = User.objects.create_superuser("boss@example.com", "boss-pass-123", name="Boss")
    client = Client()
    client.force_login(admin)
    return client, admin


async def test_admin_add_change_and_delete_of_a_post_emit_events(listen):
    client, admin = await sync_to_async(admin_client)()
    async with listen("posts") as events:
        form = {"title": "From admin", "body": "", "author": admin.pk, "published": "on"}
        response = await sync_to_async(client.post)("/admin/posts/post/add/", form)
        assert response.status_code == 302
        created = await events.next_frame()
        post_pk = created["data"]["id"]

        form["title"] = "Edited in admin"
        response = await sync_to_async(client.post)(f"/admin/posts/post/{post_pk}/change/", form)
        assert response.status_code == 302
        updated = await events.next_frame()

        response = await sync_to_async(client.post)(f"/admin/posts/post/{post_pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        deleted = await events.next_frame()
        await events.assert_nothing()
    assert created["type"] == "created" and created["data"]["title"] == "From admin"
    assert updated["type"] == "updated" and updated["data"]["title"] == "Edited in admin"
    assert deleted["type"] == "deleted" and deleted["data"] == {"id": post_pk}
    assert [created["seq"] + 1, created["seq"] + 2] == [updated["seq"], deleted["seq"]]


async def test_admin_bulk_delete_action_emits_one_deleted_per_post(listen):
    client, admin = await sync_to_async(admin_client)()

    def make_posts() -> list[int]:
        return [Post.objects.create(title=f"p{i}", author=admin, published=True).pk for i in range(3)]

    pks = await sync_to_async(make_posts)()
    async with listen("posts") as events:
        response = await sync_to_async(client.post)(
            "/admin/posts/post/",
            {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
        )
        assert response.status_code == 302
        frames = [await events.next_frame() for _ in pks]
        await events.assert_nothing()
    assert sorted(frame["data"]["id"] for frame in frames) == sorted(pks)
    assert {frame["type"] for frame in frames} == {"deleted"}


async def test_admin_list_editable_change_emits_updated(listen):
    client, admin = await sync_to_async(admin_client)()
    post = await sync_to_async(Post.objects.create)(title="draft", author=admin)
    async with listen("posts") as events:
        response = await sync_to_async(client.post)(
            "/admin/posts/post/",
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": str(post.pk),
                "form-0-published": "on",
                "_save": "Save",
            },
        )
        assert response.status_code == 302
        frame = await events.next_frame()
    assert frame["type"] == "updated" and frame["data"]["published"] is True


async def test_admin_user_edit_emits_a_users_event(listen):
    client, _ = await sync_to_async(admin_client)()
    target = await sync_to_async(User.objects.create_user)("target@example.com", name="Before")
    async with listen("users") as events:
        response = await sync_to_async(client.post)(
            f"/admin/users/user/{target.pk}/change/",
            {"email": "target@example.com", "name": "After", "is_active": "on", "date_joined": ""},
        )
        assert response.status_code == 302, response.content[:500]
        frame = await events.next_frame()
    assert frame["type"] == "updated" and frame["data"]["name"] == "After"


async def test_failed_api_write_sends_nothing_and_takes_no_seq(listen):
    def author_client():
        from rest_framework.test import APIClient

        author = User.objects.create_user("a@example.com")
        client = APIClient()
        client.force_authenticate(author)
        return client

    client = await sync_to_async(author_client)()
    seq_before = await sync_to_async(current_seq)("posts")
    async with listen("posts") as events:
        response = await sync_to_async(client.post)("/api/posts/", {"body": "no title"}, format="json")
        assert response.status_code == 400
        await events.assert_nothing()
    assert await sync_to_async(current_seq)("posts") == seq_before


async def test_list_responses_carry_the_channel_seq(listen):
    def write_and_list():
        from rest_framework.test import APIClient

        author = User.objects.create_user("a@example.com")
        Post.objects.create(title="x", author=author, published=True)
        return APIClient().get("/api/posts/")

    response = await sync_to_async(write_and_list)()
    assert response["X-Channel-Seq"] == str(await sync_to_async(current_seq)("posts"))
