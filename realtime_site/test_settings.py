"""
Settings for the test suite: the real settings, with a throwaway secret key and a
fast password hasher, so `pytest` needs no environment of its own. DATABASE_URL and
REDIS_URL still come from the environment, so the suite runs on PostgreSQL too.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from realtime_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
# Each test's requests leave no connection open in the request threads
# (http_handler.py): a PostgreSQL test database cannot be dropped while one is.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# On SQLite the test database is a file (one per test process), not Django's default
# in-memory one, which Django never closes: the tests of closing connections run here too.
if SQLITE:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}  # noqa: F405
