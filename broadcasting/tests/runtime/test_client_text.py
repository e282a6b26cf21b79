"""runtime/client_text.py: what a client sent, read safely for headers and log lines."""

from broadcasting.runtime.client_text import MAX_LOGGED_PATH_CHARS, printable_path, scope_header


def test_a_header_is_read_by_its_lowercase_name():
    scope = {"headers": [(b"origin", b"http://a.example"), (b"host", b"a.example")]}
    assert scope_header(scope, b"host") == "a.example"
    assert scope_header(scope, b"cookie") is None


def test_a_path_cannot_forge_a_log_line_or_fill_the_log():
    assert printable_path("/ws/posts\nforged line") == "/ws/posts%0Aforged%20line"
    long = printable_path("/" + "a" * 10_000)
    assert len(long) == MAX_LOGGED_PATH_CHARS + 1 and long.endswith("…")
