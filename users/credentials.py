"""
What a password change does to the credentials that were valid before it.

A new password ends every way in that the old one opened: the user's API token is
replaced and their sessions stop authenticating (Django checks each session against a
hash of the password). The request that made the change keeps working: its session is
updated, or, when it came with a token, the new token is handed back to it. Open
sockets on the old credentials are closed 4401 by the fanout's periodic check
(broadcasting/sockets/accounts.py).
"""

from django.contrib.auth import update_session_auth_hash
from rest_framework.authtoken.models import Token

from .models import User


def change_password(user: User, new_password: str, request) -> str | None:
    """
    Set ``user``'s password and end their other credentials. Returns the new token key
    when the request itself authenticated as ``user`` with a token, else None.
    """
    user.set_password(new_password)
    user.save()
    Token.objects.filter(user=user).delete()
    if request is None or getattr(request.user, "pk", None) != user.pk:
        return None
    if isinstance(request.auth, Token):
        return Token.objects.create(user=user).key
    update_session_auth_hash(request, user)
    return None
