import pytest
from django.core.management import call_command
from django.db import IntegrityError

from users.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.database]


def test_create_user_without_password_gets_unusable_password():
    user = User.objects.create_user("nopass@example.com")
    assert not user.has_usable_password()


def test_create_user_normalizes_email_domain():
    user = User.objects.create_user("Someone@EXAMPLE.com", "pw-123456789")
    assert user.email == "Someone@example.com"


def test_email_is_unique_regardless_of_case():
    User.objects.create_user("case@example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("CASE@example.com")


def test_login_name_lookup_ignores_case():
    User.objects.create_user("mixed@example.com", "pw-123456789")
    assert User.objects.get_by_natural_key("MIXED@example.com").email == "mixed@example.com"


def test_create_superuser_is_staff_and_superuser():
    admin = User.objects.create_superuser("root@example.com", "pw-123456789")
    assert admin.is_staff and admin.is_superuser and admin.check_password("pw-123456789")


def test_createsuperuser_noinput_reads_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "env-admin@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "env-pass-123456")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Env Admin")
    call_command("createsuperuser", interactive=False, verbosity=0)
    admin = User.objects.get(email="env-admin@example.com")
    assert admin.is_superuser and admin.name == "Env Admin" and admin.check_password("env-pass-123456")


def test_ensure_demo_admin_creates_one_only_when_no_superuser_exists(capsys, settings):
    settings.DEBUG = True
    call_command("ensure_demo_admin")
    assert "admin@example.com" in capsys.readouterr().out
    call_command("ensure_demo_admin")
    assert "exists already" in capsys.readouterr().out
    assert User.objects.filter(is_superuser=True).count() == 1


def test_drf_create_token_prints_a_usable_token(capsys, api_client_for):
    User.objects.create_user("tok@example.com", "pw-123456789")
    call_command("drf_create_token", "tok@example.com")
    key = capsys.readouterr().out.split()[2]
    client = api_client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/users/").status_code == 200
