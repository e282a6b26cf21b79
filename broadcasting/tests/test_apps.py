"""apps.py: an installed app's live.py is found and imported, as the admin finds admin.py."""

import sys

from django.apps import apps

from broadcasting import live_models


def test_every_installed_apps_live_module_is_imported_and_registers_its_models():
    for app_config in apps.get_app_configs():
        if app_config.name in ("users", "posts"):
            assert f"{app_config.name}.live" in sys.modules
    assert {"users", "posts"} <= set(live_models.channels())


def test_socket_counts_and_presence_follow_the_hub():
    from broadcasting.delivery.fanout import process_fanout
    from broadcasting.presence.counts import socket_counts
    from broadcasting.presence.tracker import presence

    assert socket_counts in process_fanout._listeners and presence in process_fanout._listeners
