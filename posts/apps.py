from django.apps import AppConfig


class PostsConfig(AppConfig):
    """Its live.py (the posts channel) is found by broadcasting, as admin.py is by the admin."""

    name = "posts"
    verbose_name = "Posts"
