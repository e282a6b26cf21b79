import pytest
from django.test import Client

from posts.models import Post
from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.database]


@pytest.fixture
def admin_client_logged_in() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss@example.com", "boss-pass-123"))
    return client


def test_post_changelist_lists_searches_and_filters(admin_client_logged_in):
    author = User.objects.get(email="boss@example.com")
    Post.objects.create(title="Findable title", author=author, published=True)
    response = admin_client_logged_in.get("/admin/posts/post/", {"q": "Findable", "published__exact": "1"})
    assert response.status_code == 200 and b"Findable title" in response.content


def test_admin_add_form_defaults_author_to_the_admin(admin_client_logged_in):
    response = admin_client_logged_in.get("/admin/posts/post/add/")
    admin = User.objects.get(email="boss@example.com")
    assert response.status_code == 200
    assert response.context["adminform"].form.initial["author"] == admin.pk
