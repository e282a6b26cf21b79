"""
sockets/auth.py: who is behind a socket, through the whole ASGI application. A session
counts only while Django would still honour it; a bad token is refused, never taken
for anonymous; malformed cookies are nobody.
"""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from testing.asgi_sockets import Socket, make_user_with_token, open_socket, refused_with
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


def signed_in_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_a_session_ends_for_sockets_when_its_password_changes():
    user, _ = await sync_to_async(make_user_with_token)("changing@example.com")
    cookie = await sync_to_async(signed_in_cookie)(user)
    user.set_password("another-pass-1234")
    await sync_to_async(user.save)()
    await refused_with("/ws/users", 4401, "auth_required", cookie=cookie)


async def test_a_deactivated_users_session_is_nobody():
    user, _ = await sync_to_async(make_user_with_token)("gone@example.com")
    cookie = await sync_to_async(signed_in_cookie)(user)
    await sync_to_async(User.objects.filter(pk=user.pk).update)(is_active=False)
    await refused_with("/ws/users", 4401, "auth_required", cookie=cookie)


@pytest.mark.parametrize(
    "cookie",
    ["sessionid=forged-session-key", "sessionid=", "sessionid", ";;;=;", "a=b; sessionid=\x7f\x00"],
)
async def test_a_forged_or_malformed_session_cookie_is_nobody(cookie):
    await refused_with("/ws/users", 4401, "auth_required", cookie=cookie)
    socket = await open_socket("/ws/posts", cookie=cookie)  # anonymous readers are welcome there
    await socket.recv("connection")
    await socket.close()


async def test_a_bad_token_is_refused_even_with_a_good_session():
    user, _ = await sync_to_async(make_user_with_token)("both@example.com")
    cookie = await sync_to_async(signed_in_cookie)(user)
    await refused_with("/ws/posts", 4401, "auth_failed", token="not-a-real-token", cookie=cookie)


async def test_another_authorization_scheme_leaves_the_session_in_charge():
    user, _ = await sync_to_async(make_user_with_token)("bearer@example.com")
    cookie = await sync_to_async(signed_in_cookie)(user)
    socket = Socket("/ws/users", [(b"cookie", cookie.encode()), (b"authorization", b"Bearer something")])
    connected, _ = await socket.open()
    assert connected
    await socket.recv("connection")
    await socket.close()


def test_tokens_are_looked_up_in_chunks_and_only_active_users_count(monkeypatch):
    from broadcasting import authentication
    from broadcasting.sockets import auth

    active, active_key = make_user_with_token("active@example.com")
    other, other_key = make_user_with_token("other@example.com")
    _, inactive_key = make_user_with_token("inactive@example.com")
    User.objects.filter(email="inactive@example.com").update(is_active=False)
    monkeypatch.setattr(authentication, "TOKEN_KEYS_PER_QUERY", 2)
    users = auth._active_users_for_tokens([active_key, inactive_key, "no-such-key", other_key])
    assert {key: user.pk for key, user in users.items()} == {active_key: active.pk, other_key: other.pk}


async def test_token_handshakes_that_arrive_together_share_one_query(monkeypatch):
    import asyncio

    from broadcasting.sockets import auth

    _, first_key = await sync_to_async(make_user_with_token)("first@example.com")
    _, second_key = await sync_to_async(make_user_with_token)("second@example.com")
    sockets = [Socket("/ws/users", [(b"authorization", f"Token {key}".encode())]) for key in (first_key, second_key)]
    looked_up = []
    real = auth._active_users_for_tokens
    monkeypatch.setattr(auth, "_active_users_for_tokens", lambda keys: looked_up.append(sorted(keys)) or real(keys))
    opened = await asyncio.gather(*(socket.open() for socket in sockets))
    assert [connected for connected, _ in opened] == [True, True]
    assert looked_up == [sorted([first_key, second_key])]
    for socket in sockets:
        assert (await socket.recv("connection"))["channel"] == "users"
        await socket.close()
