"""
The page shows any live channel, not only its own users and posts: a ``comments`` app
made live with ``makelive`` in a copy of the project gets a list that connects, fills,
follows events, and offers Edit and Delete to its staff.
"""

import httpx
import pytest
from playwright.sync_api import expect

from testing.live_server import LiveStack
from testing.project_copy import project_with_live_comments

from .conftest import sign_in

PASSWORD = "browser-pass-123"


@pytest.fixture
def comments_site(live_stack, tmp_path):
    base = live_stack()
    env = {**base.env, "DATABASE_URL": f"sqlite:///{tmp_path / 'comments.sqlite3'}"}
    project = project_with_live_comments(tmp_path / "project", env)
    stack = LiveStack(env=env, work_dir=tmp_path, project_dir=project)
    token = stack.create_user("staff@example.com", password=PASSWORD, staff=True, superuser=True)
    server = stack.start_server()
    yield server, token
    stack.stop()


def test_a_channel_the_page_has_no_section_for_is_listed_live(comments_site, new_page):
    server, token = comments_site
    api = httpx.Client(base_url=server.http_url, headers={"Authorization": f"Token {token}"}, timeout=10)
    post_id = api.post("/api/posts/", json={"title": "p", "published": True}).json()["id"]
    first = api.post("/api/comments/", json={"post": post_id, "body": "already here", "approved": True}).json()

    page = new_page()
    sign_in(page, server.http_url, "staff@example.com", PASSWORD)
    channel = page.locator("li[data-channel=comments]")
    channel.locator("[data-action=connect]").click()
    expect(page.get_by_test_id("badge-comments")).to_have_attribute("data-status", "live")
    comments = page.get_by_test_id("comments-list")
    expect(comments).to_contain_text("already here")

    second = api.post("/api/comments/", json={"post": post_id, "body": "written meanwhile", "approved": True}).json()
    expect(comments).to_contain_text("written meanwhile")  # live, from the socket

    page.once("dialog", lambda dialog: dialog.accept("edited on the page"))
    comments.locator(f"li[data-id='{second['id']}']").get_by_role("button", name="Edit").click()
    expect(comments).to_contain_text("edited on the page")
    assert api.get(f"/api/comments/{second['id']}/").json()["body"] == "edited on the page"

    comments.locator(f"li[data-id='{first['id']}']").get_by_role("button", name="Delete").click()
    expect(comments).not_to_contain_text("already here")
    assert api.get(f"/api/comments/{first['id']}/").status_code == 404
