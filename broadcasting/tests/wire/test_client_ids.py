"""wire/client_ids.py: a client id marks a socket's own writes only under its own user."""

from broadcasting.wire.client_ids import client_key, is_valid_client_id, own_keys


def test_valid_client_ids_are_short_and_plain():
    assert is_valid_client_id("tab-1_A")
    assert not is_valid_client_id(None)
    assert not is_valid_client_id("")
    assert not is_valid_client_id("a" * 65)
    assert not is_valid_client_id("a:b")


def test_a_signed_in_sockets_own_writes_are_its_id_under_its_user_and_the_bare_id():
    assert own_keys("tab-1", 7) == frozenset({"tab-1", client_key(7, "tab-1")})
    assert own_keys("tab-1", None) == frozenset({"tab-1"})
    assert client_key(7, "tab-1") not in own_keys("tab-1", 8)
