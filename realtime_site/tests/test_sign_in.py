"""The test page's sign-in (sign_in.py): back to the page with the reason, lockouts kept."""

import pytest
from django.contrib.messages import get_messages


@pytest.fixture
def reader(make_user):
    return make_user("reader@example.com", password="right-pass-42")


def sign_in(client, password: str, next_url: str = "/"):
    return client.post("/sign-in/", {"username": "reader@example.com", "password": password, "next": next_url})


@pytest.mark.django_db
def test_a_right_password_signs_in_and_goes_to_next_on_this_site_only(client, reader):
    response = sign_in(client, "right-pass-42", next_url="/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/").context["user"] == reader
    client.logout()
    assert sign_in(client, "right-pass-42", next_url="https://evil.example/")["Location"] == "/"


@pytest.mark.django_db
def test_a_wrong_password_comes_back_to_the_page_with_the_reason(client, reader):
    response = sign_in(client, "wrong")
    assert (response.status_code, response["Location"]) == (302, "/")
    [message] = [str(message) for message in get_messages(response.wsgi_request)]
    assert message.startswith("Sign-in failed: Please enter a correct email")


@pytest.mark.django_db
def test_a_locked_out_pair_is_told_on_the_page_and_stays_locked_out(client, reader, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(client, "wrong")
    response = sign_in(client, "right-pass-42")  # locked out: even the right password fails
    assert (response.status_code, response["Location"]) == (302, "/")
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "Too many failed sign-ins for this email from here; try again later." in messages
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.django_db
def test_sign_in_takes_posts_only(client):
    assert client.get("/sign-in/").status_code == 405
