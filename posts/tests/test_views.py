"""The /api/posts/ endpoints: anyone reads published posts; authors and staff write."""

import pytest

from posts.models import Post

pytestmark = [pytest.mark.django_db, pytest.mark.database]


@pytest.fixture
def author(make_user):
    return make_user("author@example.com")


@pytest.fixture
def published(author):
    return Post.objects.create(title="Hello", body="World", author=author, published=True)


@pytest.fixture
def draft(author):
    return Post.objects.create(title="Draft", author=author)


def test_anonymous_reads_published_posts_only(api_client_for, published, draft):
    body = api_client_for().get("/api/posts/").json()
    assert [post["id"] for post in body["results"]] == [published.pk]
    assert api_client_for().get(f"/api/posts/{draft.pk}/").status_code == 404


def test_author_sees_own_drafts(api_client_for, author, published, draft):
    ids = {post["id"] for post in api_client_for(author).get("/api/posts/").json()["results"]}
    assert ids == {published.pk, draft.pk}


def test_other_users_do_not_see_drafts(api_client_for, make_user, published, draft):
    ids = {post["id"] for post in api_client_for(make_user()).get("/api/posts/").json()["results"]}
    assert ids == {published.pk}


def test_staff_sees_every_post(api_client_for, make_user, published, draft):
    ids = {post["id"] for post in api_client_for(make_user(staff=True)).get("/api/posts/").json()["results"]}
    assert ids == {published.pk, draft.pk}


def test_anonymous_write_is_refused(api_client_for, published):
    client = api_client_for()
    assert client.post("/api/posts/", {"title": "x"}, format="json").status_code in (401, 403)
    assert client.delete(f"/api/posts/{published.pk}/").status_code in (401, 403)
    assert Post.objects.count() == 1


def test_create_sets_author_to_requesting_user(api_client_for, make_user):
    writer = make_user()
    response = api_client_for(writer).post("/api/posts/", {"title": "Mine", "body": "b", "author": 999}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["author"] == writer.pk and body["published"] is False
    assert set(body) == {
        "id",
        "title",
        "body",
        "author",
        "author_name",
        "published",
        "created_at",
        "updated_at",
    }


def test_missing_title_is_a_field_error(api_client_for, author):
    response = api_client_for(author).post("/api/posts/", {"body": "no title"}, format="json")
    assert response.status_code == 400 and "title" in response.json()
    assert not Post.objects.exists()


def test_author_edits_and_deletes_own_post(api_client_for, author, published):
    client = api_client_for(author)
    assert client.patch(f"/api/posts/{published.pk}/", {"title": "Edited"}, format="json").status_code == 200
    response = client.put(
        f"/api/posts/{published.pk}/", {"title": "Full", "body": "B", "published": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["published"] is False
    assert client.delete(f"/api/posts/{published.pk}/").status_code == 204


def test_other_user_cannot_edit_or_delete(api_client_for, make_user, published):
    client = api_client_for(make_user())
    assert client.patch(f"/api/posts/{published.pk}/", {"title": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/posts/{published.pk}/").status_code == 403
    published.refresh_from_db()
    assert published.title == "Hello"


def test_staff_edits_any_post(api_client_for, make_user, draft):
    response = api_client_for(make_user(staff=True)).patch(
        f"/api/posts/{draft.pk}/", {"published": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["published"] is True


def test_unknown_id_is_404(api_client_for, author):
    assert api_client_for(author).get("/api/posts/424242/").status_code == 404


def test_filter_by_published(api_client_for, author, published, draft):
    body = api_client_for(author).get("/api/posts/", {"published": "false"}).json()
    assert [post["id"] for post in body["results"]] == [draft.pk]
