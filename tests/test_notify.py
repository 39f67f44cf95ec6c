"""Notifiers: the outbox hand-over, the signed webhook, and the configuration that picks one."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import ServerSection
from kiosk.server.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Notice,
    NotifierConfigError,
    NotifyError,
    OutboxNotifier,
    WebhookNotifier,
    make_notifier,
    sign,
    verify,
)

KEY = b"a-webhook-key-of-the-tests"
NOTICE = Notice(notice_id=7, record_id="6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", phone="13800138000",
                status="rejected", reason="眼睛闭合", created_at=datetime(2026, 6, 1, 8, tzinfo=UTC))


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers with ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_the_webhook_posts_signed_json(receiver: Receiver) -> None:
    WebhookNotifier(receiver.url, KEY).deliver(NOTICE)
    headers, body = receiver.got[0]
    doc = json.loads(body)
    assert doc["phone"] == "13800138000" and doc["status"] == "rejected" and doc["reason"] == "眼睛闭合"
    assert "眼睛闭合" in doc["message_zh"]
    assert verify(KEY, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(b"another-key-entirely", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(KEY, headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER])


def test_a_refusing_or_absent_webhook_raises_to_try_again(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(NotifyError):
        WebhookNotifier(receiver.url, KEY).deliver(NOTICE)
    receiver.close()
    with pytest.raises(NotifyError):
        WebhookNotifier(receiver.url, KEY, timeout_s=2).deliver(NOTICE)


def test_signature_covers_timestamp_and_body() -> None:
    assert sign(KEY, "1", b"x") != sign(KEY, "2", b"x")
    assert sign(KEY, "1", b"x").startswith("sha256=")


def test_outbox_logs_without_the_phone(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        OutboxNotifier().deliver(NOTICE)
    assert "notify.outbox" in caplog.text
    assert "13800138000" not in caplog.text


def test_configuration_picks_the_channel(tmp_path: Path) -> None:
    assert make_notifier(ServerSection(notifier="none")) is None
    assert isinstance(make_notifier(ServerSection(notifier="outbox")), OutboxNotifier)
    key = tmp_path / "hook.key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, KEY)
    os.close(fd)
    made = make_notifier(ServerSection(notifier="webhook", notify_webhook_url="https://sms.example/hook",
                                       notify_webhook_secret_file=key))
    assert isinstance(made, WebhookNotifier)
    with pytest.raises(NotifierConfigError):
        make_notifier(ServerSection(notifier="webhook", notify_webhook_url="", notify_webhook_secret_file=key))
    os.chmod(key, 0o644)
    with pytest.raises(NotifierConfigError):
        make_notifier(ServerSection(notifier="webhook", notify_webhook_url="https://sms.example/hook",
                                    notify_webhook_secret_file=key))
    with pytest.raises(NotifierConfigError):
        make_notifier(ServerSection(notifier="webhook", notify_webhook_url="https://sms.example/hook",
                                    notify_webhook_secret_file=tmp_path / "missing"))
