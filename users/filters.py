"""
The filters of the users list, for REST and live sockets alike (users/live.py registers
it). ``is_staff`` is not a public field, so only staff may filter on it: for anyone
else, ``?is_staff=`` would list the staff accounts (403 over REST, ``invalid_filter``
on a socket).
"""

import django_filters
from rest_framework.exceptions import PermissionDenied

from .models import User


class UserFilter(django_filters.FilterSet):
    class Meta:
        model = User
        fields = ["is_active", "is_staff"]

    def is_valid(self) -> bool:
        viewer = getattr(self.request, "user", None)
        if self.data.get("is_staff") not in (None, "") and not (viewer is not None and viewer.is_staff):
            raise PermissionDenied("Only staff may filter users on is_staff.")
        return super().is_valid()
