"""
docs/js-client.md's examples, run as written in Chromium against a real server: the
static-file page the guide recommends and the inline one with a CSP nonce. Each loads
the snapshot, shows another client's write live in the list's order, and writes with
CSRF and X-Client-ID (its own write applied once, from the response), with nothing
refused by the Content-Security-Policy.
"""

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import sign_in

PASSWORD = "guide-pass-123"


@pytest.mark.parametrize("path", ["/examples/posts/", "/examples/posts-inline/"])
def test_the_guides_plain_js_example_runs_as_written(live_stack, new_page, path):
    stack = live_stack()
    token = stack.create_user("reader@example.com", password=PASSWORD, staff=True, superuser=True)
    server = stack.start_server()

    def post(title: str) -> None:
        response = httpx.post(
            f"{server.http_url}/api/posts/",
            json={"title": title, "published": True},
            headers={"Authorization": f"Token {token}"},
        )
        assert response.status_code == 201

    post("from before")
    page = new_page()
    sign_in(page, server.http_url, "reader@example.com", PASSWORD, next_url=path)
    refused = []  # a script the CSP blocks is a console error, and nothing else happens
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    page.reload()
    expect(page.locator("#status")).to_have_text("live")
    rows = page.locator("#posts li")
    expect(rows).to_have_text(["from before"])
    post("from elsewhere")
    expect(rows).to_have_text(["from elsewhere", "from before"])  # newest first, as a reload shows
    page.fill("#new-post [name=title]", "from this page")
    page.click("#new-post button")
    expect(rows).to_have_text(["from this page", "from elsewhere", "from before"])
    page.wait_for_timeout(500)  # the socket does not echo this tab's own write (X-Client-ID)
    expect(rows).to_have_count(3)
    assert refused == []


def code_block_after(markdown: str, heading: str, language: str) -> str:
    start = markdown.index(heading)
    opening = f"```{language}\n"
    block_start = markdown.index(opening, start) + len(opening)
    return markdown[block_start : markdown.index("\n```", block_start) + 1]


def test_the_guide_shows_the_example_pages_code_as_it_runs():
    from testing.live_server import PROJECT_DIR

    guide = (PROJECT_DIR / "docs" / "js-client.md").read_text()
    module = (PROJECT_DIR / "static" / "examples" / "posts.js").read_text()
    assert code_block_after(guide, "static/examples/posts.js", "js") == module
    page = (PROJECT_DIR / "templates" / "examples" / "posts.html").read_text()
    assert code_block_after(guide, "templates/examples/posts.html", "html") == page
    inline = (PROJECT_DIR / "templates" / "examples" / "posts_inline.html").read_text()
    inline_module = inline.split('nonce="{{ request.csp_nonce }}">\n', 1)[1].split("\n  </script>", 1)[0]
    dedented = "\n".join(line.removeprefix("    ") for line in inline_module.split("\n")) + "\n"
    assert dedented == module.split("\n", 2)[2]  # the same module, inline
