"""Durable writes when two writers replace the same file at once (the screen and the sync daemon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import durable


def test_two_writers_of_one_file_never_mix_their_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "latest.json"
    real = durable._write_all
    interleaved: list[bool] = []

    def other_writer_runs_meanwhile(fd: int, data: bytes) -> None:
        if not interleaved:  # the first writer has opened its temporary file: the second one runs now
            interleaved.append(True)
            durable.write_file(target, b'{"written": "by the other process, and longer"}')
        real(fd, data)

    monkeypatch.setattr(durable, "_write_all", other_writer_runs_meanwhile)
    durable.write_file(target, b'{"written": "first"}')
    assert target.read_bytes() == b'{"written": "first"}'  # one whole version, the last renamed
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]  # no temporary file left behind


def test_the_mode_is_the_one_asked_for(tmp_path: Path) -> None:
    durable.write_file(tmp_path / "a", b"x", mode=0o644)
    durable.write_file(tmp_path / "b", b"x")
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o600
