"""runtime/circuit.py: after a failure the service is skipped for a while, then tried again."""

import logging

from broadcasting.runtime.circuit import Circuit


def test_a_failure_opens_the_circuit_for_its_retry_time_and_logs_once(caplog, monkeypatch):
    now = [100.0]
    monkeypatch.setattr("broadcasting.runtime.circuit.time.monotonic", lambda: now[0])
    circuit = Circuit("Counting in Redis", retry_secs=5)
    assert circuit.closed()
    with caplog.at_level(logging.WARNING, logger="broadcasting.runtime.circuit"):
        circuit.failed(OSError("frozen"))
        circuit.failed(OSError("frozen"))
    assert len(caplog.records) == 1 and "skipping it for 5s" in caplog.text
    now[0] = 104.9
    assert not circuit.closed()
    now[0] = 106.0
    assert circuit.closed()


def test_a_probe_that_works_closes_it_at_once():
    circuit = Circuit("Publishing", retry_secs=60)
    circuit.failed(OSError("down"))
    circuit.succeeded()
    assert circuit.closed()
