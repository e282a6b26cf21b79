"""
runtime/daphne_adapter.py's contract with the pinned daphne, autobahn and Twisted: each
test fails if an upgrade stops doing what the adapter assumes.
"""

import functools
import inspect

import pytest
from autobahn.websocket.protocol import WebSocketProtocol
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol as DaphneWebSocketProtocol
from twisted.internet.abstract import FileDescriptor

from broadcasting.runtime import daphne_adapter


def test_daphne_hands_the_application_its_protocol_bound_into_send():
    source = inspect.getsource(Server.create_application).replace(" ", "").replace("\n", "")
    assert "partial(self.handle_reply,protocol)" in source


def test_twisted_transports_buffer_what_they_could_not_write_in_the_attributes_the_probe_reads():
    transport = FileDescriptor()
    assert transport.dataBuffer == b"" and transport._tempDataLen == 0
    transport.dataBuffer, transport._tempDataLen = b"x" * 300, 200

    class Protocol:
        pass

    protocol = Protocol()
    protocol.transport = transport

    def handle_reply(protocol, message):
        return None

    probe = daphne_adapter.server_backlog_probe(functools.partial(handle_reply, protocol))
    assert probe is not None and probe() == 500


def test_autobahn_has_the_close_handshake_timeout_the_outbox_lengthens():
    assert issubclass(DaphneWebSocketProtocol, WebSocketProtocol)
    assert "closeHandshakeTimeout" in inspect.getsource(WebSocketProtocol)


def test_autobahn_refuses_the_close_codes_the_outbox_falls_back_from():
    """An application may close with 1000 or 3000-4999 only; the outbox then sends CLOSE_CODE_IT_TAKES."""
    sent = []

    class Closing(WebSocketProtocol):
        def sendCloseFrame(self, code=None, reasonUtf8=None, isReply=False):
            sent.append(code)

    protocol = Closing()
    for refused in (1009, 1011, 1012):
        with pytest.raises(Exception, match="invalid close code"):
            protocol.sendClose(code=refused)
    protocol.sendClose(code=daphne_adapter.CLOSE_CODE_IT_TAKES)
    protocol.sendClose(code=4408)
    assert sent == [daphne_adapter.CLOSE_CODE_IT_TAKES, 4408]


def test_on_another_server_the_adapter_does_nothing():
    async def send(message: dict) -> None:
        return None

    assert daphne_adapter.protocol_of(send) is None
    assert daphne_adapter.server_backlog_probe(send) is None
    daphne_adapter.wait_longer_for_close(send, 5.0)
