"""
`manage.py ensure_demo_admin`: create a demo superuser when the database has none,
and print how to sign in. Used by `make run` so a fresh checkout has a working admin.
It refuses to run with DEBUG off: a well-known password must never reach a server
anyone else can reach. Production creates its first admin with `manage.py createsuperuser`.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create a demo superuser (admin@example.com / admin) if no superuser exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-url", default="http://127.0.0.1:8000/admin/", help="Where the admin will be served."
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "ensure_demo_admin creates admin@example.com with the password 'admin', so it runs only "
                "with DJANGO_DEBUG=1. For a real server use `manage.py createsuperuser`."
            )
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
