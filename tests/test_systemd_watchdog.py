"""sd_notify over a real AF_UNIX datagram socket, and silence without one."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import watchdog


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    try:
        yield sock, {"NOTIFY_SOCKET": str(path)}
    finally:
        sock.close()


def test_ready_ping_status_and_stopping_reach_the_socket(notify_socket) -> None:
    sock, env = notify_socket
    assert watchdog.notify_ready("waiting for\n students", env=env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=waiting for students"
    assert watchdog.ping(env=env)
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert watchdog.status("camera ok", env=env)
    assert sock.recv(4096) == b"STATUS=camera ok"
    assert watchdog.stopping(env=env)
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_socket() -> None:
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert watchdog.ping(env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"WATCHDOG=1"


def test_no_socket_is_a_quiet_no_op() -> None:
    assert watchdog.notify_ready(env={}) is False
    assert watchdog.ping(env={}) is False


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    # explicit level: a test before this one may have left the kiosk loggers quieter
    caplog.set_level(logging.DEBUG, logger="kiosk.watchdog")
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone")}
    assert watchdog.ping(env=env) is False
    assert "watchdog.notify_failed" in caplog.text


def test_the_default_environment_is_read(notify_socket, monkeypatch) -> None:
    sock, env = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", env["NOTIFY_SOCKET"])
    assert watchdog.ping()
    assert sock.recv(64) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getppid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "999999999"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_ping_interval_is_half_the_watchdog(env: dict[str, str], expected: float | None) -> None:
    assert watchdog.ping_interval_s(env) == expected
