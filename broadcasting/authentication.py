"""
Who is behind a DRF token, read in one raw join, for REST and sockets alike.

DRF's TokenAuthentication looks a token up with ``select_related`` through the ORM,
which costs several times the query itself to build on every request
(bench/RESULTS.md). ``TokenAuthentication`` here is DRF's with that one lookup
replaced: the same header, the same keys, the same refusals and messages, and
``request.auth`` is still the Token. Socket handshakes (sockets/auth.py) use the same
query for many keys at once.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

# Token keys one query looks up at most (SQLite allows 999 parameters).
TOKEN_KEYS_PER_QUERY = 500


def users_for_tokens(keys: list[str]) -> dict[str, Any]:
    """The user behind each of ``keys`` that is a token, active or not; one raw join per 500 keys."""
    user_model = get_user_model()
    quote = connection.ops.quote_name
    user_column = quote(Token._meta.get_field("user").column)
    pk_column = quote(user_model._meta.pk.column or "id")
    users: dict[str, Any] = {}
    for start in range(0, len(keys), TOKEN_KEYS_PER_QUERY):
        chunk = keys[start : start + TOKEN_KEYS_PER_QUERY]
        sql = (
            f"SELECT u.*, t.{quote('key')} AS realtime_token_key"
            f" FROM {quote(user_model._meta.db_table)} u INNER JOIN {quote(Token._meta.db_table)} t"
            f" ON t.{user_column} = u.{pk_column}"
            f" WHERE t.{quote('key')} IN ({', '.join(['%s'] * len(chunk))})"
        )
        for user in user_model.objects.raw(sql, chunk):
            users[user.realtime_token_key] = user
    return users


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (``Authorization: Token <key>``), its lookup one raw join."""

    def authenticate_credentials(self, key: str):
        user = users_for_tokens([key]).get(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
