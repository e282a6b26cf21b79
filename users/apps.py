from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Its live.py (the users channel) is found by broadcasting, as admin.py is by the admin."""

    name = "users"
    verbose_name = "Users"
