"""The test page at / in a real headless chromium, against a real server process."""

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import sign_in

PASSWORD = "browser-pass-123"


@pytest.fixture
def site(live_stack):
    """A server with a staff user (who is also a superuser, for the admin)."""
    stack = live_stack()
    token = stack.create_user("staff@example.com", password=PASSWORD, staff=True, superuser=True)
    server = stack.start_server()
    return stack, server, token


def open_signed_in(new_page, server):
    page = new_page()
    sign_in(page, server.http_url, "staff@example.com", PASSWORD)
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live")
    expect(page.get_by_test_id("badge-users")).to_have_attribute("data-status", "live")
    return page


def test_page_loads_and_connects_both_channels(site, new_page):
    _, server, _ = site
    page = open_signed_in(new_page, server)
    expect(page.get_by_test_id("who")).to_contain_text("staff@example.com")
    expect(page.get_by_test_id("users-list")).to_contain_text("staff@example.com")
    expect(page.get_by_test_id("event-log")).to_contain_text("connection")


def api_post(server, token: str, title: str, **fields) -> dict:
    response = httpx.post(
        f"{server.http_url}/api/posts/",
        json={"title": title, "published": True, **fields},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def sign_in_on_the_page(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/")
    form = page.get_by_test_id("sign-in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_contain_text(email)


def test_anonymous_page_watches_posts_with_no_write_controls(site, new_page):
    _, server, token = site
    page = new_page()
    page.goto(server.http_url + "/")
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live")
    expect(page.get_by_test_id("badge-users")).to_contain_text("closed 4401")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("posts-empty")).to_have_text("No posts here yet.")
    expect(page.get_by_test_id("post-form")).to_be_hidden()
    expect(page.get_by_test_id("posts-note")).to_have_text("Sign in to write posts.")
    api_post(server, token, "Seen by anyone")
    row = page.get_by_test_id("posts-list").locator("li", has_text="Seen by anyone")
    expect(row).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)


def test_a_non_staff_user_signs_in_on_the_page_and_is_offered_only_what_they_may_do(site, new_page):
    stack, server, token = site
    stack.create_user("reader@example.com", password=PASSWORD)
    api_post(server, token, "Staff post")
    page = new_page()
    sign_in_on_the_page(page, server.http_url, "reader@example.com", PASSWORD)
    expect(page.get_by_test_id("badge-users")).to_have_attribute("data-status", "live")
    staff_row = page.get_by_test_id("posts-list").locator("li", has_text="Staff post")
    expect(staff_row.get_by_role("button")).to_have_count(0)
    page.fill("#post-form [name=title]", "Mine")
    page.click("#post-form [data-role=submit]")
    mine = page.get_by_test_id("posts-list").locator("li", has_text="Mine")
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    expect(mine.get_by_role("button", name="Delete")).to_be_visible()
    # Users: no create form; their own row can be edited, not deleted; nobody else's row has buttons.
    expect(page.get_by_test_id("user-form")).to_be_hidden()
    expect(page.get_by_test_id("users-note")).to_contain_text("edit your own account")
    users = page.get_by_test_id("users-list")
    expect(users.locator("li", has_text="reader").get_by_role("button")).to_have_text(["Edit"])
    expect(users.locator("li", has_text="staff").get_by_role("button")).to_have_count(0)
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def test_a_failed_sign_in_stays_on_the_page_and_says_why(site, new_page):
    _, server, _ = site
    page = new_page()
    page.goto(f"{server.http_url}/")
    form = page.get_by_test_id("sign-in")
    form.get_by_label("Email").fill("staff@example.com")
    form.get_by_label("Password").fill("not-the-password")
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Sign-in failed: Please enter a correct email")
    assert page.url == f"{server.http_url}/"
    expect(page.get_by_test_id("sign-in")).to_be_visible()  # try again, right here
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live")
    page.reload()
    expect(page.get_by_test_id("notice")).to_have_count(0)  # said once


def test_an_anonymous_visitor_is_told_why_users_are_not_shown_and_how_accounts_are_made(site, new_page):
    _, server, _ = site
    page = new_page()
    page.goto(f"{server.http_url}/")
    expect(page.get_by_test_id("users-empty")).to_have_text("Not shown to you: sign in to see users.")
    expect(page.get_by_test_id("accounts-note")).to_contain_text("Accounts are made by staff")


def test_live_rows_take_their_place_in_the_order_a_reload_shows(site, new_page):
    stack, server, token = site
    api_post(server, token, "Older post")
    page = open_signed_in(new_page, server)
    api_post(server, token, "Newer post")
    posts = page.get_by_test_id("posts-list").locator("li")
    expect(posts).to_have_count(2)
    expect(posts.first).to_contain_text("Newer post")  # newest first, as GET /api/posts/ lists them
    stack.create_user("zed@example.com", password=PASSWORD)
    users = page.get_by_test_id("users-list").locator("li")
    expect(users).to_have_count(2)
    expect(users.last).to_contain_text("zed@example.com")  # by id, as GET /api/users/ lists them
    live_order = [posts.nth(index).inner_text() for index in range(2)]
    page.reload()
    expect(posts).to_have_count(2)
    assert [posts.nth(index).inner_text() for index in range(2)] == live_order


def test_staff_create_a_user_with_a_password_who_can_then_sign_in(site, new_page):
    _, server, _ = site
    page = open_signed_in(new_page, server)
    form = page.get_by_test_id("user-form")
    form.get_by_label("Email").fill("newcomer@example.com")
    form.get_by_label("Name").fill("Newcomer")
    form.get_by_label("Password", exact=True).fill("newcomer-pass-987")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_test_id("users-list")).to_contain_text("newcomer@example.com")
    expect(form.locator("[data-role=error]")).to_have_text("")
    sign_in_on_the_page(new_page(), server.http_url, "newcomer@example.com", "newcomer-pass-987")


def test_a_changed_row_lights_up_and_the_log_shows_each_events_latency(site, new_page):
    _, server, token = site
    page = open_signed_in(new_page, server)
    post = api_post(server, token, "Before")
    expect(page.get_by_test_id("posts-list")).to_contain_text("Before")
    httpx.patch(
        f"{server.http_url}/api/posts/{post['id']}/",
        json={"title": "After"},
        headers={"Authorization": f"Token {token}"},
    ).raise_for_status()
    expect(page.get_by_test_id("posts-list").locator("li.changed")).to_contain_text("After")
    updated = page.get_by_test_id("event-log").locator("li[data-type=updated]").first
    expect(updated.locator("[data-role=latency]")).to_have_text(re.compile(r"^\d+ ms$"))


def test_lists_are_wide_enough_for_whole_titles(site, new_page):
    _, server, token = site
    title = "Edited in the admin · " + "a long title that goes on " * 4
    api_post(server, token, title.strip())
    page = new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server.http_url, "staff@example.com", PASSWORD)
    label = page.get_by_test_id("posts-list").locator("li .label").first
    expect(label).to_contain_text(title.strip())
    list_width = page.get_by_test_id("posts-list").evaluate("list => list.getBoundingClientRect().width")
    assert list_width > 1280 * 0.4
    # Nothing is cut off: the label shows all of its text (it wraps rather than clipping).
    assert label.evaluate("label => label.scrollWidth <= label.clientWidth")


def test_an_admin_change_in_another_browser_appears_within_2_seconds(site, new_page):
    _, server, _ = site
    watcher = open_signed_in(new_page, server)
    admin = new_page()
    sign_in(admin, server.http_url, "staff@example.com", PASSWORD, next_url="/admin/posts/post/add/")
    admin.fill("#id_title", "Written in the admin")
    admin.check("#id_published")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")
    expect(watcher.get_by_test_id("posts-list")).to_contain_text("Written in the admin", timeout=2000)
    expect(watcher.get_by_test_id("event-log").locator("li[data-type=created]").first).to_contain_text(
        "Written in the admin", timeout=2000
    )


def test_a_create_from_the_form_appears_in_the_list_and_the_log(site, new_page):
    _, server, _ = site
    page = open_signed_in(new_page, server)
    page.uncheck("#send-client-id")  # so this page's own socket gets the event too
    page.fill("#post-form [name=title]", "From the form")
    page.check("#post-form [name=published]")
    page.click("#post-form [data-role=submit]")
    expect(page.get_by_test_id("posts-list")).to_contain_text("From the form")
    expect(page.get_by_test_id("event-log").locator("li[data-type=created]").first).to_contain_text("From the form")


def test_x_client_id_skips_the_writing_tab_but_not_others(site, new_page):
    _, server, _ = site
    writer, other = open_signed_in(new_page, server), open_signed_in(new_page, server)
    writer.fill("#post-form [name=title]", "Excluded echo")
    writer.click("#post-form [data-role=submit]")
    expect(writer.get_by_test_id("posts-list")).to_contain_text("Excluded echo")
    expect(other.get_by_test_id("event-log").locator("li[data-type=created]").first).to_contain_text("Excluded echo")
    expect(writer.get_by_test_id("event-log").locator("li").first).to_have_attribute("data-type", "sync")
    expect(writer.get_by_test_id("event-log").locator("li[data-type=created]")).to_have_count(0)


def test_api_errors_show_inline_and_edit_and_delete_work(site, new_page):
    _, server, _ = site
    page = open_signed_in(new_page, server)
    page.click("#post-form [data-role=submit]")  # no title
    expect(page.locator("#post-form [data-role=error]")).to_contain_text("title")
    page.fill("#post-form [name=title]", "Draft one")
    page.click("#post-form [data-role=submit]")
    row = page.get_by_test_id("posts-list").locator("li", has_text="Draft one")
    row.get_by_role("button", name="Edit").click()
    page.fill("#post-form [name=title]", "Draft renamed")
    page.click("#post-form [data-role=submit]")
    expect(page.get_by_test_id("posts-list")).to_contain_text("Draft renamed")
    page.get_by_test_id("posts-list").locator("li", has_text="Draft renamed").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_test_id("posts-list")).not_to_contain_text("Draft renamed")


def test_stats_and_ping_panels(site, new_page):
    _, server, _ = site
    page = open_signed_in(new_page, server)
    page.click("#ping")
    expect(page.get_by_test_id("ping-result")).to_contain_text("pong in")
    page.click("#socket-stats")
    expect(page.get_by_test_id("stats-output")).to_contain_text('"total_connections": 2')
    page.click("#http-stats")
    expect(page.get_by_test_id("stats-output")).to_contain_text('"posts": 1')


def test_page_reconnects_after_a_server_restart_and_keeps_receiving(site, new_page):
    _, server, token = site
    page = open_signed_in(new_page, server)
    server.stop()
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "reconnecting")
    server.start()
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live", timeout=35_000)
    response = httpx.post(
        f"{server.http_url}/api/posts/",
        json={"title": "After the restart", "published": True},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201
    expect(page.get_by_test_id("posts-list")).to_contain_text("After the restart")


def test_phone_width_fits_without_sideways_scrolling(site, new_page):
    _, server, _ = site
    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, server.http_url, "staff@example.com", PASSWORD)
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live")
    time.sleep(0.2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


CSP_WATCH = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_page_runs_under_its_content_security_policy(site, new_page):
    """The page sends a strict CSP and works under it with no violation."""
    _, server, _ = site
    page = new_page()
    page.context.add_init_script(CSP_WATCH)
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    response = page.goto(f"{server.http_url}/")
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    sign_in(page, server.http_url, "staff@example.com", PASSWORD)
    expect(page.get_by_test_id("badge-users")).to_have_attribute("data-status", "live")
    page.fill("#post-form [name=title]", "Under CSP")
    page.click("#post-form [data-role=submit]")
    expect(page.get_by_test_id("posts-list")).to_contain_text("Under CSP")
    page.click("#ping")
    expect(page.get_by_test_id("ping-result")).to_contain_text("pong in")
    assert page.evaluate("window.cspViolations") == []
    assert not [text for text in console_errors if "Content Security Policy" in text]

    page.goto(f"{server.http_url}/api/docs/")  # the docs' inline start-up script is allowed there
    expect(page.locator(".swagger-ui .title")).to_contain_text("realtime_site API")


def test_the_posts_filter_box_makes_the_list_follow_that_filter(site, new_page):
    _, server, token = site
    page = open_signed_in(new_page, server)
    api_post(server, token, "Out in the open")
    draft = api_post(server, token, "Still a draft", published=False)
    expect(page.get_by_test_id("posts-list")).to_contain_text("Still a draft")
    box = page.get_by_test_id("posts-filter")
    box.get_by_label("Published").select_option("false")
    box.get_by_role("button", name="Filter").click()
    expect(box.locator("[data-role=active]")).to_have_text("/ws/posts?published=false")
    posts = page.get_by_test_id("posts-list")
    expect(posts).to_contain_text("Still a draft")
    expect(posts).not_to_contain_text("Out in the open")
    api_post(server, token, "Another published one")
    api_post(server, token, "Another draft", published=False)
    expect(posts).to_contain_text("Another draft")
    # Publishing the draft takes it out of the filtered set: it leaves the list live.
    httpx.patch(
        f"{server.http_url}/api/posts/{draft['id']}/",
        json={"published": True},
        headers={"Authorization": f"Token {token}"},
    ).raise_for_status()
    expect(posts).not_to_contain_text("Still a draft")
    expect(posts).not_to_contain_text("Another published one")
    expect(page.get_by_test_id("badge-posts")).to_have_attribute("data-status", "live")


def test_the_page_shows_who_is_here_as_people_come_and_go(live_stack, new_page):
    stack = live_stack(REALTIME_PRESENCE_LINGER_SECS="1")
    stack.create_user("staff@example.com", password=PASSWORD, staff=True)
    stack.create_user("reader@example.com", password=PASSWORD)
    server = stack.start_server()
    watcher = open_signed_in(new_page, server)
    posts_here = watcher.get_by_test_id("presence-posts")
    expect(posts_here).to_have_text("here: you")
    expect(watcher.get_by_test_id("presence-users")).to_have_text("here: you")

    reader = new_page()
    sign_in_on_the_page(reader, server.http_url, "reader@example.com", PASSWORD)
    expect(posts_here).to_have_text("here: you, reader")  # a join
    expect(reader.get_by_test_id("presence-posts")).to_have_text("here: staff, you")
    anonymous = new_page()
    anonymous.goto(server.http_url + "/")
    # Anonymous sockets are counted (the page asks again every 5 s), never named; an
    # anonymous reader may not read users, so learns their ids only.
    expect(posts_here).to_have_text("here: you, reader, 1 anonymous", timeout=8000)
    anonymous_sees = re.compile(r"^here: user #\d+, user #\d+, 1 anonymous$")
    expect(anonymous.get_by_test_id("presence-posts")).to_have_text(anonymous_sees)

    reader.close()
    expect(posts_here).to_have_text(re.compile(r"^here: you(, 1 anonymous)?$"), timeout=5000)  # a leave, after 1 s
    watcher.get_by_test_id("badge-posts").locator("xpath=..").get_by_role("button", name="Disconnect").click()
    expect(posts_here).to_have_text("not subscribed")
