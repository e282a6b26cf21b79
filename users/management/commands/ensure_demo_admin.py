"""
`manage.py ensure_demo_admin`: create a demo superuser when the database has none,
and print how to sign in. Used by `make run` so a fresh checkout has a working admin.
Never use the demo account outside local development.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create a demo superuser (admin@example.com / admin) if no superuser exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-url", default="http://127.0.0.1:8000/admin/", help="Where the admin will be served."
        )

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already; no demo account created.")
            return
        User.objects.create_superuser(DEMO_EMAIL, DEMO_PASSWORD, name="Demo Admin")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin created. Sign in at {options['admin_url']} as {DEMO_EMAIL} with password {DEMO_PASSWORD}"
            )
        )
