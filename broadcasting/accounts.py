"""
The current state of the accounts behind open sockets.

A socket's user is checked at the handshake, but accounts change while sockets stay
open: each process's fanout check (every REALTIME["SEQ_CHECK_INTERVAL_SECS"]) reads,
in one query, the state of every user with a socket there. A socket whose user was
deactivated or deleted is closed with 4401; one whose staff flag changed sees events
as its new self from then on.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model


@dataclass(frozen=True)
class AccountState:
    is_active: bool
    is_staff: bool


def account_states(user_pks: Iterable) -> dict:
    """pk -> AccountState for those of ``user_pks`` that still exist."""
    user_model = get_user_model()
    field_names = {field.name for field in user_model._meta.concrete_fields}
    flags = [name for name in ("is_active", "is_staff") if name in field_names]
    users = user_model._base_manager.filter(pk__in=list(user_pks)).only("pk", *flags)
    return {
        user.pk: AccountState(is_active=getattr(user, "is_active", True), is_staff=getattr(user, "is_staff", False))
        for user in users
    }
