"""
The filters of the users list. ``is_staff`` is not a public field, so only staff may
filter on it: for anyone else, ``?is_staff=`` would list the staff accounts.
"""

import django_filters
from rest_framework.exceptions import PermissionDenied

from .models import User


class UserFilter(django_filters.FilterSet):
    is_staff = django_filters.BooleanFilter(method="filter_is_staff")

    class Meta:
        model = User
        fields = ["is_active", "is_staff"]

    def filter_is_staff(self, queryset, name: str, value: bool | None):
        viewer = getattr(self.request, "user", None)
        if value is None:
            return queryset
        if not (viewer is not None and viewer.is_staff):
            raise PermissionDenied("Only staff may filter users on is_staff.")
        return queryset.filter(is_staff=value)
