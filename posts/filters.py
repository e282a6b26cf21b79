"""The filters of the posts list, for REST and live sockets alike (posts/live.py registers it)."""

import django_filters

from .models import Post


class PostFilter(django_filters.FilterSet):
    class Meta:
        model = Post
        fields = ["published", "author"]
