"""
Refresh docs/screenshot.png (1280 px) and docs/screenshot-phone.png (390 px): the test
page signed in as staff, after a few posts, a user and an edit, with another user on
the page too (presence), in Debian's chromium.

    make screenshots
"""

import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from browser_tests.conftest import CHROMIUM_ARGS, chromium_path, sign_in
from testing.live_server import PROJECT_DIR, LiveStack, base_env

PASSWORD = "screenshot-pass-1"


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        env = base_env(DATABASE_URL=f"sqlite:///{work}/screens.sqlite3")
        stack = LiveStack(env=env, work_dir=Path(work))
        try:
            stack.manage("migrate", "--noinput")
            token = stack.create_user("ada@example.com", password=PASSWORD, staff=True)
            stack.shell("from users.models import User; User.objects.filter(is_staff=True).update(is_superuser=True)")
            stack.create_user("grace@example.com", password=PASSWORD)
            server = stack.start_server()
            shoot(server.http_url, token)
        finally:
            stack.stop()


def shoot(base_url: str, token: str) -> None:
    path = chromium_path()
    assert path, "chromium is not installed (apt-get install chromium)"
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Token {token}"})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        # Grace has the page open too, so "here:" under each channel names someone else.
        elsewhere = browser.new_context().new_page()
        elsewhere.goto(f"{base_url}/")  # the page's own sign-in form: the admin's takes staff only
        elsewhere.fill("[data-testid=sign-in] [name=username]", "grace@example.com")
        elsewhere.fill("[data-testid=sign-in] [name=password]", PASSWORD)
        elsewhere.click("[data-testid=sign-in] button")
        elsewhere.wait_for_selector("[data-testid=badge-posts][data-status=live]")
        for name, viewport in (("screenshot.png", (1280, 1000)), ("screenshot-phone.png", (390, 844))):
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            sign_in(page, base_url, "ada@example.com", PASSWORD)
            page.wait_for_selector("[data-testid=badge-users][data-status=live]")
            page.wait_for_function(
                "document.querySelector('[data-testid=presence-posts]').textContent.includes('grace')"
            )
            titles = ["Release notes for 2.0", "Edited in the admin · Deploying behind nginx", "A draft"]
            created = [
                api.post("/api/posts/", json={"title": title, "published": title != "A draft"}).json()
                for title in titles
            ]
            api.patch(f"/api/posts/{created[0]['id']}/", json={"title": "Release notes for 2.0 (final)"})
            time.sleep(0.3)  # the edit's highlight is on screen
            page.screenshot(path=str(PROJECT_DIR / "docs" / name), full_page=name != "screenshot-phone.png")
            for post in created:
                api.delete(f"/api/posts/{post['id']}/")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
