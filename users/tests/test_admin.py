import pytest
from django.test import Client

from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.database]


@pytest.fixture
def admin_client_logged_in(make_user) -> Client:
    admin = User.objects.create_superuser("boss@example.com", "boss-pass-123")
    client = Client()
    client.force_login(admin)
    return client


def test_user_changelist_shows_list_columns_and_searches(admin_client_logged_in, make_user):
    make_user("findme@example.com", name="Find Me")
    response = admin_client_logged_in.get("/admin/users/user/", {"q": "findme"})
    assert response.status_code == 200
    assert b"findme@example.com" in response.content and b"Created at" in response.content


def test_admin_adds_user_with_password(admin_client_logged_in):
    response = admin_client_logged_in.post(
        "/admin/users/user/add/",
        {
            "email": "added@example.com",
            "name": "Added",
            "usable_password": "true",
            "password1": "Str0ng-admin-pass",
            "password2": "Str0ng-admin-pass",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.get(email="added@example.com").check_password("Str0ng-admin-pass")


def test_admin_sets_a_users_password(admin_client_logged_in, make_user):
    user = make_user()
    response = admin_client_logged_in.post(
        f"/admin/users/user/{user.pk}/password/",
        {"password1": "N3w-password-xyz", "password2": "N3w-password-xyz", "usable_password": "true"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("N3w-password-xyz")
