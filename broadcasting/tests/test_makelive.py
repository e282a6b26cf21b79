"""
``manage.py makelive``, tried as a new user would, in a copy of the project: ``startapp
comments``, a Comment model, the app installed, ``makelive comments.Comment --owner author
--public approved=true``, migrations, a real server. What it wrote passes the project's
lint and its own tests, and the comment is live and safe over REST and sockets.
"""

import asyncio
import sys

import httpx
import pytest

from testing.frames import next_of
from testing.live_server import PROJECT_DIR, LiveStack
from testing.project_copy import project_with_comments_by_hand, project_with_live_comments, run_in, tutorial_files
from testing.sockets import Socket

STAFF_PASSWORD = "staff-pass-123"


@pytest.mark.live_server
async def test_makelive_makes_a_new_model_live_and_safe_over_rest_and_sockets(live_stack, tmp_path):
    base = live_stack()  # its env; the copy gets a database of its own
    env = {**base.env, "DATABASE_URL": f"sqlite:///{tmp_path / 'comments.sqlite3'}"}
    project = project_with_live_comments(tmp_path / "project", env)
    python = sys.executable

    # What it wrote passes the project's lint and its own tests.
    run_in(project, python, "-m", "ruff", "check", "comments", env=env)
    run_in(project, python, "-m", "ruff", "format", "--check", "comments", env=env)
    run_in(project, python, "-m", "mypy", "comments", env=env)
    test_env = {key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"}
    run_in(project, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "comments/test_live.py", env=test_env)

    stack = LiveStack(env=env, work_dir=tmp_path, project_dir=project)
    try:
        await check_comments_live_and_safe(stack)
    finally:
        stack.stop()


@pytest.mark.live_server
async def test_the_tutorials_files_by_hand_make_the_same_live_and_safe_model(live_stack, tmp_path):
    """docs/live-models.md's "By hand": its whole files, as written there, and nothing else."""
    markdown = (PROJECT_DIR / "docs" / "live-models.md").read_text()
    by_hand = markdown[markdown.index("## By hand") :]
    assert set(tutorial_files(by_hand)) == {"comments/models.py", "comments/live.py"}  # the model, one declaration
    base = live_stack()
    env = {**base.env, "DATABASE_URL": f"sqlite:///{tmp_path / 'comments.sqlite3'}"}
    project = project_with_comments_by_hand(tmp_path / "project", env, by_hand)
    run_in(project, sys.executable, "-m", "ruff", "check", *tutorial_files(by_hand), env=env)
    stack = LiveStack(env=env, work_dir=tmp_path, project_dir=project)
    try:
        await check_comments_live_and_safe(stack, admin=False)  # the tutorial registers no admin
    finally:
        stack.stop()


async def edit_in_the_admin(base_url: str, comment: dict, post_id: int, *, body: str) -> None:
    """Sign in to the admin as staff, as a person would, and save the comment's change form."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as browser:
        await browser.get("/admin/login/")
        signed_in = await browser.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "staff@example.com",
                "password": STAFF_PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{base_url}/admin/login/"},
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        change = f"/admin/comments/comment/{comment['id']}/change/"
        saved = await browser.post(
            change,
            data={
                "post": post_id,
                "author": comment["author"],
                "body": body,
                "approved": "on",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{base_url}{change}"},
        )
        assert saved.status_code == 302, saved.text[:1000]


async def check_comments_live_and_safe(stack: LiveStack, *, admin: bool = True) -> None:
    staff = stack.create_user("staff@example.com", STAFF_PASSWORD, staff=True, superuser=True)
    alice = stack.create_user("alice@example.com")
    bob = stack.create_user("bob@example.com")
    server = stack.start_server()

    def as_user(token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return httpx.AsyncClient(base_url=server.http_url, headers=headers, timeout=10)

    async with as_user(staff) as staff_api, as_user(alice) as alice_api, as_user(bob) as bob_api, as_user(None) as anon:
        post_id = (await staff_api.post("/api/posts/", json={"title": "p", "published": True})).json()["id"]
        public_socket = await Socket.open(f"{server.ws_url}/ws/comments")
        await public_socket.connected()
        alice_socket = await Socket.open(f"{server.ws_url}/ws/comments?post={post_id}", token=alice)
        await alice_socket.connected()

        assert (await anon.post("/api/comments/", json={"post": post_id, "body": "x"})).status_code in (401, 403)
        created = await alice_api.post("/api/comments/", json={"post": post_id, "body": "mine", "approved": True})
        assert created.status_code == 201, created.text
        comment = created.json()
        users = (await staff_api.get("/api/users/", params={"search": "alice"})).json()["results"]
        assert comment["author"] == users[0]["id"]  # set by the server, from the request
        assert comment["approved"] is False  # an author cannot approve their own comment

        # The author sees their own unapproved comment live.
        assert (await next_of(alice_socket, "created"))["data"]["id"] == comment["id"]

        # Staff approve it: news to the public now, and its first (the unapproved one never reached it).
        approved = await staff_api.patch(f"/api/comments/{comment['id']}/", json={"approved": True})
        assert approved.status_code == 200 and approved.json()["approved"] is True
        public_view = (await next_of(public_socket, "created"))["data"]
        assert (public_view["id"], public_view["approved"]) == (comment["id"], True)

        # Another user may read it, not change it or delete it; its author may not unapprove it.
        assert (await bob_api.patch(f"/api/comments/{comment['id']}/", json={"body": "taken"})).status_code == 403
        assert (await bob_api.delete(f"/api/comments/{comment['id']}/")).status_code == 403
        await alice_api.patch(f"/api/comments/{comment['id']}/", json={"approved": False, "body": "edited"})
        listed = await anon.get("/api/comments/")
        assert "X-Channel-Seq" in listed.headers
        assert [(c["id"], c["body"], c["approved"]) for c in listed.json()["results"]] == [
            (comment["id"], "edited", True)
        ]

        one = await Socket.open(f"{server.ws_url}/ws/comments/{comment['id']}")
        assert (await one.connected())["channel"] == "comments"
        # An edit in the admin that makelive registered (by hand: in the shell) reaches the object's socket.
        if admin:
            await edit_in_the_admin(server.http_url, comment, post_id, body="moderated")
        else:
            await asyncio.to_thread(
                stack.shell,
                f"from comments.models import Comment\nc = Comment.objects.get(pk={comment['id']})\n"
                "c.body = 'moderated'\nc.save()",
            )
        assert (await next_of(one, "updated"))["data"]["body"] == "moderated"
        for socket in (public_socket, alice_socket, one):
            await socket.close()


def test_makelive_never_overwrites_a_file_of_yours_and_says_what_to_add():
    from io import StringIO

    from django.core.management import call_command

    posts_dir = PROJECT_DIR / "posts"
    before = {path.name: path.read_text() for path in posts_dir.glob("*.py")}
    output = StringIO()
    try:
        call_command("makelive", "posts.Post", "--owner", "author", "--public", "published=true", stdout=output)
    finally:
        (posts_dir / "test_live.py").unlink(missing_ok=True)  # the one file posts did not have
    assert {path.name: path.read_text() for path in posts_dir.glob("*.py") if path.name in before} == before
    for name in ("live.py", "serializers.py", "filters.py", "views.py", "admin.py"):
        assert f"kept your {posts_dir / name}" in output.getvalue()


@pytest.mark.parametrize(
    "arguments",
    [("nope.Model",), ("posts.Post", "--owner", "writer"), ("posts.Post", "--public", "published")],
)
def test_makelive_refuses_what_it_cannot_make_live(arguments):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("makelive", *arguments)
