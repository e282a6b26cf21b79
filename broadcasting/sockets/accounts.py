"""
The credentials behind open sockets, and whether they still hold.

A socket's user is checked at the handshake, but accounts change while sockets stay
open. Each socket keeps the ``Credentials`` it opened with: its user, a hash of that
user's password (Django's session auth hash), and the session or token it came in on.
Every REALTIME["SEQ_CHECK_INTERVAL_SECS"] each process's fanout reads, in three
queries, the state of everything its sockets rely on (``read_accounts``), and a socket
whose credentials no longer hold is closed with ``auth_failed`` / 4401:

- the user was deleted or deactivated;
- the password changed (every session and token of before ends, as in Django);
- the session ended: signed out, expired, or flushed;
- the token was deleted or replaced.

A socket whose user's staff flag changed stays open and sees events as its new self.
Sessions kept only in signed cookies cannot be revoked on the server, so for that
engine only the account and password are checked.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.authtoken.models import Token

# Set by socket_auth.SocketAuthMiddleware: the key of the token a socket authenticated with.
TOKEN_KEY_SCOPE_KEY = "realtime_token_key"


@dataclass(frozen=True)
class Credentials:
    """What a socket authenticated with, as it was at the handshake."""

    user_pk: int
    auth_hash: str
    session_key: str | None = None
    token_key: str | None = None


def credentials_of(scope: dict) -> Credentials | None:
    """The credentials of a handshake's scope; None for an anonymous socket."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    token_key = scope.get(TOKEN_KEY_SCOPE_KEY)
    session = scope.get("session")
    session_key = None if token_key is not None or session is None else session.session_key
    return Credentials(user.pk, user.get_session_auth_hash(), session_key=session_key, token_key=token_key)


@dataclass(frozen=True)
class AccountState:
    is_active: bool
    is_staff: bool
    auth_hash: str


@dataclass(frozen=True)
class AccountsSnapshot:
    """The accounts, sessions and tokens behind a set of sockets, read at one moment."""

    accounts: dict
    live_session_keys: frozenset[str] | None  # None: the session engine cannot tell
    token_owners: dict

    def refusal(self, credentials: Credentials) -> str | None:
        """Why ``credentials`` no longer hold (a message for the client), or None if they do."""
        account = self.accounts.get(credentials.user_pk)
        if account is None or not account.is_active:
            return "This account is no longer active."
        if not constant_time_compare(account.auth_hash, credentials.auth_hash):
            return "The password of this account has changed; sign in again."
        if (
            credentials.session_key is not None
            and self.live_session_keys is not None
            and credentials.session_key not in self.live_session_keys
        ):
            return "This session has ended; sign in again."
        if credentials.token_key is not None and self.token_owners.get(credentials.token_key) != credentials.user_pk:
            return "This token has been deleted or replaced."
        return None

    def is_staff(self, user_pk: int) -> bool:
        account = self.accounts.get(user_pk)
        return account is not None and account.is_staff


def read_accounts(credentials: Iterable[Credentials]) -> AccountsSnapshot:
    """Read what ``credentials`` rely on, in one query per kind (runs in a worker thread)."""
    credentials = list(credentials)
    user_pks = {item.user_pk for item in credentials}
    session_keys = {item.session_key for item in credentials if item.session_key is not None}
    token_keys = {item.token_key for item in credentials if item.token_key is not None}
    return AccountsSnapshot(
        accounts=_account_states(user_pks) if user_pks else {},
        live_session_keys=_live_session_keys(session_keys) if session_keys else frozenset(),
        token_owners=dict(Token.objects.filter(key__in=token_keys).values_list("key", "user_id")) if token_keys else {},
    )


def _account_states(user_pks: set) -> dict:
    user_model = get_user_model()
    field_names = {field.name for field in user_model._meta.concrete_fields}
    flags = [name for name in ("is_active", "is_staff") if name in field_names]
    users = user_model._base_manager.filter(pk__in=list(user_pks)).only("pk", "password", *flags)
    return {
        user.pk: AccountState(
            is_active=getattr(user, "is_active", True),
            is_staff=getattr(user, "is_staff", False),
            auth_hash=user.get_session_auth_hash(),
        )
        for user in users
    }


def _live_session_keys(session_keys: set[str]) -> frozenset[str] | None:
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store_class, "get_model_class"):  # db and cached_db: the table is the truth
        model = store_class.get_model_class()
        live = model.objects.filter(session_key__in=session_keys, expire_date__gt=timezone.now())
        return frozenset(live.values_list("session_key", flat=True))
    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        return None
    store = store_class()
    return frozenset(key for key in session_keys if store.exists(key))


def load_user(user_pk: int):
    """The active user of ``user_pk`` as it is now (a socket's user after a rights change); None if gone."""
    user = get_user_model()._base_manager.filter(pk=user_pk).first()
    if user is None or not getattr(user, "is_active", True):
        return None
    return user
