"""sockets/handshake.py: the client id a handshake names, and the close a refusal has."""

import pytest

from broadcasting.sockets.handshake import Refused, client_id_of, query_text
from broadcasting.wire.protocol import CloseCode, ErrorCode


def test_the_last_client_id_of_the_query_is_the_sockets():
    assert client_id_of(b"client_id=tab-1&client_id=tab-2") == "tab-2"
    assert client_id_of(b"since=3") is None


@pytest.mark.parametrize("query", [b"client_id=", b"client_id=has%20space", b"client_id=" + b"x" * 65])
def test_a_malformed_client_id_is_refused_4400(query):
    with pytest.raises(Refused) as refused:
        client_id_of(query)
    assert refused.value.code == ErrorCode.INVALID_CLIENT_ID and refused.value.close_code == CloseCode.BAD_REQUEST


def test_a_query_that_is_not_utf8_is_read_as_latin1():
    assert query_text(b"author=\xff") == "author=ÿ"
