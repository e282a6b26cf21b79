"""
broadcasting/authentication.py: REST's token authentication reads token and user in one
query and refuses exactly what DRF's refuses, with DRF's messages.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from broadcasting.authentication import TokenAuthentication
from testing.asgi_sockets import make_user_with_token
from users.models import User
from users.views import NEW_TOKEN_HEADER

pytestmark = pytest.mark.django_db


def get_me(key: str):
    return Client(headers={"authorization": f"Token {key}"}).get("/api/users/", {"page_size": 1})


def inactive_users_token() -> str:
    user, key = make_user_with_token("inactive@example.com")
    User.objects.filter(pk=user.pk).update(is_active=False)
    return key


def test_a_token_signs_in_its_user_and_request_auth_is_that_token():
    user, key = make_user_with_token("tokened@example.com")
    authenticated, token = TokenAuthentication().authenticate_credentials(key)
    assert authenticated.pk == user.pk
    assert isinstance(token, Token) and token.key == key and token.user_id == user.pk
    assert get_me(key).status_code == 200


def test_the_token_and_its_user_are_one_query():
    _, key = make_user_with_token("one-query@example.com")
    with CaptureQueriesContext(connection) as queries:
        TokenAuthentication().authenticate_credentials(key)
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("make_key", "message"),
    [
        (lambda: "no-such-token", "Invalid token."),
        (lambda: "'OR'1'='1'--", "Invalid token."),
        (lambda: "k" * 100_000, "Invalid token."),
        (lambda: inactive_users_token(), "User inactive or deleted."),
    ],
    ids=["unknown", "injection", "huge", "inactive"],
)
def test_a_bad_token_is_refused_with_drfs_message(make_key, message):
    response = get_me(make_key())
    # 403, not 401: the first authentication class (the session's) names no WWW-Authenticate scheme.
    assert response.status_code == 403
    assert response.json()["detail"] == message


def test_a_password_change_over_a_token_still_hands_back_its_successor():
    user, key = make_user_with_token("changer@example.com")
    response = Client(headers={"authorization": f"Token {key}"}).patch(
        f"/api/users/{user.pk}/",
        {"password": "new-pass-5678!", "current_password": "pw-1234567890"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    successor = Token.objects.get(user=user).key
    assert successor != key and response.headers[NEW_TOKEN_HEADER] == successor
    assert get_me(key).status_code == 403 and get_me(successor).status_code == 200
