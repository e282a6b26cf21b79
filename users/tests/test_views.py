"""The /api/users/ endpoints: who may read and write what."""

import pytest

from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.database]


def test_anonymous_cannot_list_users(api_client_for):
    assert api_client_for().get("/api/users/").status_code in (401, 403)


def test_non_staff_sees_public_fields_of_others_never_email(make_user, api_client_for):
    reader, other = make_user(), make_user()
    response = api_client_for(reader).get(f"/api/users/{other.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == {"id", "name", "is_active", "created_at"}


def test_user_sees_own_email(make_user, api_client_for):
    reader = make_user()
    response = api_client_for(reader).get(f"/api/users/{reader.pk}/")
    assert response.json()["email"] == reader.email


def test_staff_sees_every_field_but_never_password(make_user, api_client_for):
    staff, other = make_user(staff=True), make_user()
    body = api_client_for(staff).get(f"/api/users/{other.pk}/").json()
    assert body["email"] == other.email and "password" not in body


def test_list_is_paginated(make_user, api_client_for):
    staff = make_user(staff=True)
    body = api_client_for(staff).get("/api/users/").json()
    assert set(body) == {"count", "next", "previous", "results"}


def test_staff_creates_user_with_password(make_user, api_client_for):
    staff = make_user(staff=True)
    response = api_client_for(staff).post(
        "/api/users/",
        {"email": "new@example.com", "name": "New", "password": "long-enough-pass-1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "password" not in response.json()
    assert User.objects.get(email="new@example.com").check_password("long-enough-pass-1")


def test_staff_creates_user_without_password(make_user, api_client_for):
    staff = make_user(staff=True)
    response = api_client_for(staff).post("/api/users/", {"email": "nopw@example.com"}, format="json")
    assert response.status_code == 201
    assert not User.objects.get(email="nopw@example.com").has_usable_password()


def test_non_staff_cannot_create_users(make_user, api_client_for):
    response = api_client_for(make_user()).post("/api/users/", {"email": "x@example.com"}, format="json")
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_bad_input_gets_field_errors_and_writes_nothing(make_user, api_client_for):
    staff = make_user(staff=True)
    count = User.objects.count()
    response = api_client_for(staff).post("/api/users/", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    assert User.objects.count() == count


def test_duplicate_email_in_other_case_is_a_field_error(make_user, api_client_for):
    staff = make_user(staff=True)
    make_user("dup@example.com")
    response = api_client_for(staff).post("/api/users/", {"email": "DUP@example.com"}, format="json")
    assert response.status_code == 400 and "email" in response.json()


def test_weak_password_is_refused(make_user, api_client_for):
    staff = make_user(staff=True)
    response = api_client_for(staff).post(
        "/api/users/", {"email": "weak@example.com", "password": "123"}, format="json"
    )
    assert response.status_code == 400 and not User.objects.filter(email="weak@example.com").exists()


def test_user_updates_own_name_but_not_staff_flag(make_user, api_client_for):
    user = make_user()
    client = api_client_for(user)
    assert client.patch(f"/api/users/{user.pk}/", {"name": "Renamed"}, format="json").status_code == 200
    response = client.patch(f"/api/users/{user.pk}/", {"is_staff": True}, format="json")
    assert response.status_code == 400 and "is_staff" in response.json()
    user.refresh_from_db()
    assert user.name == "Renamed" and not user.is_staff


def test_user_cannot_edit_or_delete_others(make_user, api_client_for):
    user, other = make_user(), make_user()
    client = api_client_for(user)
    assert client.patch(f"/api/users/{other.pk}/", {"name": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/users/{other.pk}/").status_code == 403


def test_staff_full_update_and_delete(make_user, api_client_for):
    staff, other = make_user(staff=True), make_user()
    client = api_client_for(staff)
    response = client.put(
        f"/api/users/{other.pk}/",
        {"email": "replaced@example.com", "name": "Replaced", "is_active": False, "is_staff": False},
        format="json",
    )
    assert response.status_code == 200 and response.json()["email"] == "replaced@example.com"
    assert client.delete(f"/api/users/{other.pk}/").status_code == 204
    assert not User.objects.filter(pk=other.pk).exists()


def test_unknown_id_is_404(make_user, api_client_for):
    assert api_client_for(make_user(staff=True)).get("/api/users/999999/").status_code == 404
