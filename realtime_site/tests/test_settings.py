"""Settings come from the environment; production settings refuse to start unsafely."""

import subprocess
import sys

from testing.live_server import PROJECT_DIR, SECRET_KEY, base_env


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={k: v for k, v in base_env(**env).items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_secret_key_refuses_to_start():
    env = base_env()
    del env["DJANGO_SECRET_KEY"]
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert completed.returncode != 0 and "DJANGO_SECRET_KEY is not set" in completed.stderr
    assert "Traceback" not in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_debug_on_without_secret_key_starts_for_local_development():
    env = base_env(DJANGO_DEBUG="1")
    del env["DJANGO_SECRET_KEY"]
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr


def test_check_deploy_is_clean_with_production_settings():
    completed = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="1", DJANGO_SECRET_KEY=SECRET_KEY * 2
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_https_settings_stay_off_without_django_https():
    completed = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE)",
    )
    assert completed.stdout.splitlines()[-1] == "False False"


def test_redis_url_selects_the_channels_redis_pub_sub_layer_with_a_read_timeout_of_its_own():
    completed = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; c = s.CHANNEL_LAYERS['default']; "
        "print(c['BACKEND'], c['CONFIG']['hosts'][0]['socket_timeout'], c['CONFIG']['prefix'])",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    backend, socket_timeout, prefix = completed.stdout.splitlines()[-1].split()
    assert backend == "channels_redis.pubsub.RedisPubSubChannelLayer" and float(socket_timeout) == 30
    assert prefix == "realtime:db3:layer"  # pub/sub ignores database numbers: the name carries it


def request_threads_and_conn_max_age(**env: str) -> list[str]:
    completed = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.REQUEST_THREADS, s.DATABASES['default']['CONN_MAX_AGE'])",
        **env,
    )
    return completed.stdout.splitlines()[-1].split()


def test_request_threads_are_one_on_sqlite_and_a_pool_on_other_databases():
    assert request_threads_and_conn_max_age() == ["1", "60"]
    postgres = request_threads_and_conn_max_age(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert int(postgres[0]) > 1 and postgres[1] == "60"
    chosen = request_threads_and_conn_max_age(DJANGO_REQUEST_THREADS="3", DATABASE_CONN_MAX_AGE="0")
    assert chosen == ["3", "0"]


def test_a_django_warning_is_logged_once_with_debug_on():
    completed = run_manage(
        "shell", "-c", "import logging; logging.getLogger('django.request').warning('logged once?')", DJANGO_DEBUG="1"
    )
    assert completed.returncode == 0, completed.stderr
    assert (completed.stdout + completed.stderr).count("logged once?") == 1
