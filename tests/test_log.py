"""Structured, redacted operator logs: the line format, journald, rotation, the CLI hook."""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_run import DemoRun

from kiosk import log as klog
from kiosk.config import LoggingSection


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("id 11010519491231002X seen", "11010519491231002X"),
        ("id 11010519491231002x seen", "11010519491231002x"),
        ("old id 110105491231002", "110105491231002"),
        ("masked 1101**********123X", "123X"),
        ("masked **************0012", "0012"),
        ("hk A123456(7)", "A123456(7)"),
        ("hk full width A123456（7）", "A123456（7）"),
        ("macau 1234567(8)", "1234567(8)"),
        ("taiwan A123456789", "A123456789"),
        ("phone 13800138000", "13800138000"),
        ("phone +86 138-0013-8000", "138-0013-8000"),
        ("phone 138 0013 8000", "0013 8000"),
        ("masked phone 138****8000", "8000"),
        ("payload KC1.AbCdEf0123456789-_xyz", "AbCdEf0123456789"),
        ("opaque eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
        ("student 张三 came", "张三"),
        ("student 欧阳·娜娜 came", "娜娜"),
        ("masked name 张*明", "张"),
        ("record.bound student_name=Zhang_San id=3", "Zhang_San"),
        ('record.bound full_name="Zhang San" id=3', "Zhang San"),
        ("check.last4 id_last4=0012 ok=false", "0012"),
        ("check.code code_payload=whatever-it-is", "whatever-it-is"),
        ("record.sent phone=13800138000", "13800138000"),
        ("student_uid=2023000123 student_number=20230001", "2023000123"),
        # full-width forms, as a Chinese input method types them
        ("id １１０１０５１９９９０１０１１２３Ｘ seen", "２３Ｘ"),
        ("phone １３８００１３８０００", "８０００"),
        ("hk Ａ１２３４５６（７）", "１２３４５６"),
        # a personal key's bare value with spaces, and a key in capitals
        ("record.bound phone=138 0013 8000 id=3", "0013 8000"),
        ("record.bound Student_Name=Zhang id=3", "Zhang"),
        # personal keys in a dict's or a JSON object's form
        ("bind.request {'id_last4': '123X', 'ticket': 'ABCD'}", "123X"),
        ('bind.request {"id_last4": "123X"}', "123X"),
        ('row {"student_number": "2023001", "masked_name": "Li*a"}', "2023001"),
        ('row {"last4": 1234}', "1234"),
        ("check id_last4: 0012", "0012"),
    ],
)
def test_personal_data_is_redacted(text: str, leak: str) -> None:
    out = klog.redact(text)
    assert leak not in out
    assert unicodedata.normalize("NFKC", leak) not in unicodedata.normalize("NFKC", out)  # nor half-width


@pytest.mark.parametrize(
    "text",
    [
        "record.sent id=5f0c1a2b-1111-2222-3333-444455556666",
        "photo sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "store.opened path=/tmp/pytest-of-root/pytest-3/test_Foo0/kiosk.db",
        "batch=1S95KT station=station-01 queue=12",
        "ts=2026-06-01T08:30:00.123 retry in 4.5 s",
        "sync.backoff attempt=3 delay_s=8.0 status=503",
    ],
)
def test_operator_facts_stay_readable(text: str) -> None:
    assert klog.redact(text) == text


def _line(message: str, *args: object, level: int = logging.INFO, journald: bool = False) -> str:
    record = logging.LogRecord("kiosk.sync", level, __file__, 1, message, args, None)
    return klog.StructuredFormatter(journald=journald).format(record)


def test_event_messages_become_key_value_lines() -> None:
    line = _line("record.sent id=%s attempts=%d", "abc", 2)
    assert line.startswith("ts=")
    assert line.endswith("level=info logger=kiosk.sync event=record.sent id=abc attempts=2")
    assert _line("ui.screen name=%s", "welcome").endswith("event=ui.screen name=welcome")


def test_free_text_is_quoted_on_one_line() -> None:
    line = _line('cannot "open"\nthe camera %s', "/dev/video0", level=logging.WARNING)
    assert 'level=warning logger=kiosk.sync msg="cannot \\"open\\"\\x0athe camera /dev/video0"' in line
    assert "\n" not in line


def test_journald_lines_carry_priority_and_no_timestamp() -> None:
    assert _line("a.b", level=logging.ERROR, journald=True).startswith("<3>level=error ")
    assert _line("a.b", level=logging.WARNING, journald=True).startswith("<4>")
    assert _line("a.b", level=logging.DEBUG, journald=True).startswith("<7>")


def test_exceptions_stay_on_one_redacted_line() -> None:
    try:
        raise ValueError("bad phone 13800138000")
    except ValueError:
        import sys

        record = logging.LogRecord("kiosk.x", logging.ERROR, __file__, 1, "x.failed", (), sys.exc_info())
    line = klog.StructuredFormatter().format(record)
    assert "exc=ValueError" in line and "\n" not in line and "13800138000" not in line


def test_journal_stream_is_detected_by_device_and_inode(tmp_path: Path) -> None:
    with open(tmp_path / "journal", "w") as stream:
        info = os.fstat(stream.fileno())
        assert klog.on_journal(stream, {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
        assert not klog.on_journal(stream, {"JOURNAL_STREAM": "1:2"})
        assert not klog.on_journal(stream, {})
    assert not klog.on_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_setup_writes_redacted_lines_to_stderr_and_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    file = tmp_path / "logs" / "kiosk.log"
    klog.setup_logging(LoggingSection(file=str(file)), stream=stream, env={})
    logging.getLogger("kiosk.ui").info("session.started student_name=%s", "张三")
    for text in (stream.getvalue(), file.read_text("utf-8")):
        assert "event=session.started student_name=[redacted]" in text
        assert "张三" not in text


def test_setup_twice_does_not_duplicate_lines() -> None:
    stream = io.StringIO()
    klog.setup_logging(LoggingSection(), stream=stream, env={})
    klog.setup_logging(LoggingSection(), stream=stream, env={})
    logging.getLogger("kiosk.x").warning("once.only")
    assert stream.getvalue().count("once.only") == 1


def test_log_file_is_rotated(tmp_path: Path) -> None:
    file = tmp_path / "kiosk.log"
    klog.setup_logging(LoggingSection(file=str(file), max_bytes=10_000, backups=2), stream=io.StringIO(), env={})
    for i in range(400):
        logging.getLogger("kiosk.x").info("filler.line n=%d pad=%s", i, "x" * 40)
    assert (tmp_path / "kiosk.log.1").exists() and (tmp_path / "kiosk.log.2").exists()
    assert not (tmp_path / "kiosk.log.3").exists()
    assert file.stat().st_size <= 10_000


def test_unwritable_log_file_is_reported_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    stream = io.StringIO()
    klog.setup_logging(LoggingSection(file=str(blocker / "kiosk.log")), stream=stream, env={})
    logging.getLogger("kiosk.x").warning("still.logging")
    assert "log.file_unavailable" in stream.getvalue()
    assert "still.logging" in stream.getvalue()


def test_environment_overrides_level_and_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    file = tmp_path / "env.log"
    klog.setup_logging(LoggingSection(level="WARNING"), stream=stream,
                       env={"KIOSK_LOG_LEVEL": "debug", "KIOSK_LOG_FILE": str(file)})
    logging.getLogger("kiosk.x").debug("debug.visible")
    assert "debug.visible" in stream.getvalue()
    assert "debug.visible" in file.read_text("utf-8")


def test_settings_come_from_station_or_server_config(tmp_path: Path) -> None:
    station = tmp_path / "kiosk.toml"
    station.write_text('[station]\nid = "s1"\n[logging]\nlevel = "DEBUG"\n', "utf-8")
    server = tmp_path / "server.toml"
    server.write_text('[server]\nport = 9000\n[logging]\nlevel = "ERROR"\n', "utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[[", "utf-8")
    assert klog.settings_for(station).level == "DEBUG"
    assert klog.settings_for(server).level == "ERROR"
    assert klog.settings_for(broken) == LoggingSection()
    assert klog.settings_for(tmp_path / "missing.toml") == LoggingSection()
    assert klog.settings_for(None) == LoggingSection()


def test_every_subcommand_sets_logging_up(tmp_path: Path, capsys, monkeypatch) -> None:
    from kiosk.cli import main

    monkeypatch.delenv("KIOSK_LOG_FILE", raising=False)
    monkeypatch.delenv("KIOSK_LOG_LEVEL", raising=False)
    calls: list[argparse.Namespace] = []
    monkeypatch.setattr(klog, "setup_from_args", calls.append)
    assert main(["config", "defaults"]) == 0
    assert len(calls) == 1 and calls[0].command == "config"


def _demo_personal_data() -> list[tuple[str, re.Pattern[str]]]:
    """What the headless demo's students and its codeless capture type in, as patterns."""
    import uuid

    from kiosk import codes
    from kiosk.demo import FEATURE_CODE

    out: list[tuple[str, re.Pattern[str]]] = []
    for i in range(3):
        name = codes._DEMO_NAMES[i]
        tail = codes._DEMO_TAILS[i]
        id_number = ("M12345" + tail) if "(" in tail else ("11010519990101" + tail)
        for label, value in (("name", name), ("masked name", codes.mask_name(name)), ("id tail", tail),
                             ("id number", id_number), ("student number", f"2023{i + 1:06d}"),
                             ("student uid", uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{FEATURE_CODE}/{i}").hex)):
            out.append((label, re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")))
    out.append(("phone", re.compile(r"13800138000")))
    out.append(("code payload", re.compile(r"KC\d+\.")))
    return out


@pytest.mark.slow
def test_a_full_demo_run_logs_no_personal_data(headless_demo: DemoRun) -> None:
    result, log_file = headless_demo.done, headless_demo.log_file
    assert result.returncode == 0, result.stderr[-2000:]
    logs = log_file.read_text("utf-8")
    assert logs.count("\n") > 20 and "level=debug" in logs  # the demo really logged, at every level
    patterns = _demo_personal_data()
    planted = "student 张伟 id 11010519990101123X phone 13800138000 code KC1.k.x"
    assert {label for label, p in patterns if p.search(planted)} >= {"name", "id number", "phone", "code payload"}
    leaks = [(label, line) for text in (logs, result.stderr) for line in text.splitlines()
             for label, pattern in patterns if pattern.search(line)]
    assert leaks == []


@pytest.mark.timeout(15)
@pytest.mark.parametrize("line", ["GET /bind?ticket=" + "*" * 100_000 + " HTTP/1.1", "1" * 16 + "＊" * 100_000],
                         ids=["request-path", "full-width"])
def test_a_long_run_of_stars_is_redacted_in_linear_time(line: str) -> None:
    # Redacted in milliseconds; a pattern that backtracks over the run at every star takes
    # minutes here (a request path is attacker-chosen text that reaches the server's access log).
    out = klog.redact(line)
    assert out.count("*") + out.count("＊") <= len(line)


@pytest.mark.parametrize(("text", "expected"), [
    ("record.sent phone=13800138000 id=3", "record.sent phone=[redacted] id=3"),
    ("bind.request {'id_last4': '123X', 'ticket': 'ABCD'}", "bind.request {'id_last4': [redacted], 'ticket': 'ABCD'}"),
    ('row {"last4": 1234}', 'row {"last4": [redacted]}'),
])
def test_a_redacted_value_keeps_the_line_readable(text: str, expected: str) -> None:
    assert klog.redact(text) == expected


def test_a_message_whose_arguments_do_not_fit_is_logged_without_them(capsys) -> None:
    # logging's own fallback would print the raw arguments (a phone number here) to standard error
    record = logging.LogRecord("kiosk.station", logging.INFO, __file__, 1, "bind.checked ticket=%s",
                               ("ABCD-EFGH-J", "13800138000"), None)
    line = klog.StructuredFormatter().format(record)
    assert "bind.checked" in line and "13800138000" not in line and "ABCD" not in line
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(klog.StructuredFormatter())
    handler.handle(record)
    assert "13800138000" not in stream.getvalue() + capsys.readouterr().err


_FIELD = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


@pytest.mark.parametrize("value", [
    "/api/v1/x\r\nlevel=error station=evil",
    "/x\rlevel=error",
    "/x\x00 level=error",
    "/x\x85level=error\u2028status=200",
    "/x\x7f\x1b[2J\u3000level=error",
    '/x" level="error',
    "/x＂ level=error",
])
def test_a_logged_value_cannot_forge_fields_or_lines(value: str) -> None:
    line = _line("request.refused path=%s status=%s", value, 404)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line), line
    assert [key for key, _ in _FIELD.findall(line)] == ["ts", "level", "logger", "event", "path", "status"], line
    assert line.endswith(" status=404")


def test_control_characters_in_free_text_and_traces_are_escaped() -> None:
    line = _line("camera said %s", "ok\x00\rlevel=error")
    assert "\x00" not in line and "\r" not in line and "\\x00" in line
    try:
        raise ValueError("bad\r\nlevel=error\x00")
    except ValueError:
        import sys

        record = logging.LogRecord("kiosk.x", logging.ERROR, __file__, 1, "x.failed", (), sys.exc_info())
    assert not re.search("[\x00-\x1f]", klog.StructuredFormatter().format(record))


def test_refusals_are_throttled_and_say_how_many_were_held_back() -> None:
    now = [0.0]
    throttle = klog.RefusalThrottle(burst=3, window_s=60, clock=lambda: now[0])

    def record(msg: str, level: int = logging.INFO) -> logging.LogRecord:
        return logging.LogRecord("kiosk.server.binding", level, __file__, 1, msg, (), None)

    passed = [throttle.filter(record("bind.refused id=x why=last_four")) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7
    assert all(throttle.filter(record("bind.ok id=x")) for _ in range(10))
    assert throttle.filter(record("bind.refused id=x", logging.WARNING))
    now[0] = 61.0
    after = record("bind.refused id=x why=last_four")
    assert throttle.filter(after)
    assert klog.StructuredFormatter().format(after).endswith("why=last_four held_back=7")
