"""The station's self-test: can this station run, and if not, what is wrong, in plain words.

Each check returns ``Finding``s with a severity:

* ``ok``;
* ``warning``: the station can take photos, but something needs the
  operator (no server, a refused token, a slow camera, sync stalled: records
  wait safely in the queue);
* ``fatal``: the station must not open (no camera, no decoder or face
  detector, the database corrupt, the disk full, the config invalid, the
  clock far off).

``exit_code`` turns them into the command's status: 0 all ok, 1 warnings
only, 2 at least one fatal. Every check takes what it measures from a
``Probes`` object, so the tests replace the camera, the disk, the network
and the clock with fakes.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.config import StationConfig
from kiosk.doctor.net import ServerProbe, check_network
from kiosk.text import text

log = logging.getLogger(__name__)

OK, WARNING, FATAL = "ok", "warning", "fatal"
_RANK = {OK: 0, WARNING: 1, FATAL: 2}

#: free space below which the station must not start (a record with its original is ~100-300 KB)
DISK_FATAL_BYTES = 300 * 1024 * 1024
#: free space below which the operator is warned (a busy day fills a few hundred MB)
DISK_WARN_BYTES = 2 * 1024 * 1024 * 1024
#: a camera delivering less than this share of the asked frame rate is reported as slow
FPS_WARN_SHARE = 0.6
#: the text in the built-in QR test frame
TEST_CODE = "KIOSK-DOCTOR-TEST-0001"
#: the sync daemon rewrites its heartbeat every cycle; older than this, it is not running
HEARTBEAT_STALE_S = 180.0
#: queued records and no accepted upload for this long: the operator should look
SYNC_STALL_S = 3600.0


@dataclass(frozen=True)
class Finding:
    """One line of the report: a check's verdict and its message (a strings-table key)."""

    name: str
    ok: bool
    severity: str
    message_key: str
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        """The message for the operator in ``lang``."""
        return text(self.message_key, lang, **self.params)

    def to_json(self) -> dict[str, Any]:
        """The JSON form of ``kiosk doctor --json``: both languages, and the detail for the log."""
        return {"name": self.name, "ok": self.ok, "severity": self.severity, "message_key": self.message_key,
                "message_zh": self.message("zh"), "message_en": self.message("en"), "detail": self.detail}


def finding(name: str, severity: str, key: str, detail: str = "", **params: Any) -> Finding:
    """A finding whose ``ok`` follows from its severity."""
    return Finding(name, severity == OK, severity, key, detail, dict(params))


def _probe_camera(settings: Any, seconds: float) -> Any:
    from kiosk.camera import probe

    return probe(settings, seconds)


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def _now() -> datetime:
    return datetime.now(UTC)


def camera_users(source: str) -> list[int]:
    """Processes holding the camera device of ``source`` open (the running station, usually).

    Read from ``/proc/*/fd``; processes of other users are invisible unless
    we are root, so an empty list means "none that we can see".
    """
    if source.startswith("/"):
        devices = {os.path.realpath(source)}
    elif source.isdigit():
        devices = {f"/dev/video{source}"}
    else:
        devices = {str(p) for p in Path("/dev").glob("video*")}
    users = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            targets = {os.readlink(fd) for fd in fd_dir.iterdir()}
        except OSError:
            continue
        if targets & devices and int(fd_dir.parent.name) != os.getpid():
            users.append(int(fd_dir.parent.name))
    return sorted(users)


@dataclass
class Probes:
    """Where the checks take their measurements; the defaults measure this machine."""

    camera: Callable[[Any, float], Any] = _probe_camera
    camera_seconds: float = 2.0
    camera_users: Callable[[str], list[int]] = camera_users
    free_bytes: Callable[[Path], int] = _free_bytes
    now: Callable[[], datetime] = _now
    server: ServerProbe = field(default_factory=ServerProbe)


# -- the checks ----------------------------------------------------------------


def check_camera(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The camera opens and delivers frames at (nearly) the asked size and rate."""
    settings = cfg.camera
    try:
        report = probes.camera(settings, probes.camera_seconds)
    except Exception as exc:  # noqa: BLE001 - a broken driver must become a finding, not a crash
        log.error("doctor.camera_failed error=%s", type(exc).__name__)
        return [finding("camera", FATAL, "doctor.camera.failed", type(exc).__name__)]
    name = str(getattr(report, "name", settings.source))
    if not report.opened or (report.error_key and not report.frames):
        users = probes.camera_users(settings.source)
        if users:
            return [finding("camera", WARNING, "doctor.camera.in_use", f"pids {users}",
                            pids=", ".join(map(str, users)))]
        return [finding("camera", FATAL, "doctor.camera.missing", f"{name} {report.error_key}".strip(),
                        source=settings.source)]
    fps = float(report.fps_measured)
    detail = f"{name} {report.width}x{report.height} {fps:.1f} fps"
    if getattr(report, "is_demo", False):
        return [finding("camera", WARNING, "doctor.camera.demo", detail)]
    if report.error_key:
        return [finding("camera", WARNING, "doctor.camera.unstable", detail, frames=report.frames)]
    if (report.width, report.height) != (settings.width, settings.height):
        return [finding("camera", WARNING, "doctor.camera.resolution", detail, width=report.width,
                        height=report.height, want_width=settings.width, want_height=settings.height)]
    if fps < settings.fps * FPS_WARN_SHARE:
        return [finding("camera", WARNING, "doctor.camera.slow", detail, fps=f"{fps:.1f}", want=settings.fps)]
    return [finding("camera", OK, "doctor.camera.ok", detail, width=report.width, height=report.height,
                    fps=f"{fps:.1f}")]


def sample_code_frame() -> np.ndarray:
    """A gray 1280x720 frame with the QR code ``TEST_CODE`` off-centre, made at run time."""
    import segno

    matrix = np.array(list(segno.make_qr(TEST_CODE, error="m").matrix), dtype=np.uint8)
    code = np.kron(np.pad(np.where(matrix > 0, 0, 255).astype(np.uint8), 4, constant_values=255),
                   np.ones((6, 6), dtype=np.uint8))
    frame = np.full((720, 1280), 200, dtype=np.uint8)
    frame[200:200 + code.shape[0], 700:700 + code.shape[1]] = code
    return frame


def check_decoder(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The configured QR decoder loads and reads the built-in test code."""
    try:
        from kiosk.scanner import Scanner

        scanner = Scanner(cfg.scanner)
        start = time.perf_counter()
        texts = [d.text for d in scanner.decode(sample_code_frame())]
        ms = (time.perf_counter() - start) * 1000
    except Exception as exc:  # noqa: BLE001 - a missing library must become a finding
        log.error("doctor.decoder_failed backend=%s error=%s", cfg.scanner.backend, type(exc).__name__)
        return [finding("decoder", FATAL, "doctor.decoder.failed", f"{cfg.scanner.backend}: {exc}",
                        backend=cfg.scanner.backend)]
    if TEST_CODE not in texts:
        return [finding("decoder", FATAL, "doctor.decoder.no_read", f"{cfg.scanner.backend} read {len(texts)}",
                        backend=cfg.scanner.backend)]
    return [finding("decoder", OK, "doctor.decoder.ok", f"{cfg.scanner.backend} {ms:.0f} ms",
                    backend=cfg.scanner.backend, ms=f"{ms:.0f}")]


def check_face(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The face detector loads and finds the face in a synthetic portrait."""
    try:
        from kiosk.scene import Scene
    except ImportError:
        return [finding("face", WARNING, "doctor.face.no_scene", "kiosk.scene missing")]
    try:
        from kiosk.portrait.analysis import Analyzer

        frame = Scene(1280, 720, cfg.portrait.background).render()
        start = time.perf_counter()
        analysis = Analyzer(cfg.portrait).analyse(frame)
        ms = (time.perf_counter() - start) * 1000
    except ImportError as exc:
        # the synthetic portraits come with the demo extra, which a station need not install
        return [finding("face", WARNING, "doctor.face.no_scene", f"{type(exc).__name__}: {exc}")]
    except Exception as exc:  # noqa: BLE001 - a missing cascade file must become a finding
        log.error("doctor.face_failed error=%s", type(exc).__name__)
        return [finding("face", FATAL, "doctor.face.failed", f"{type(exc).__name__}: {exc}")]
    if analysis.face is None:
        return [finding("face", FATAL, "doctor.face.no_face", "no face in the test portrait")]
    return [finding("face", OK, "doctor.face.ok", f"{ms:.0f} ms", ms=f"{ms:.0f}")]


def check_disk(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The data directory exists, is private and writable, and has room."""
    data = cfg.station.data_dir
    if not data.is_dir():
        return [finding("data_dir", FATAL, "doctor.data_dir.missing", str(data), path=str(data))]
    out: list[Finding] = []
    if not os.access(data, os.W_OK | os.X_OK):
        out.append(finding("data_dir", FATAL, "doctor.data_dir.read_only", str(data), path=str(data)))
    elif data.stat().st_mode & 0o077:
        out.append(finding("data_dir", WARNING, "doctor.data_dir.open", f"{data} mode {data.stat().st_mode & 0o777:o}",
                           path=str(data)))
    else:
        out.append(finding("data_dir", OK, "doctor.data_dir.ok", str(data), path=str(data)))
    try:
        free = probes.free_bytes(data)
    except OSError as exc:
        return [*out, finding("disk", FATAL, "doctor.disk.unreadable", f"errno {exc.errno}")]
    gb = f"{free / 1024 ** 3:.1f}"
    if free < DISK_FATAL_BYTES:
        out.append(finding("disk", FATAL, "doctor.disk.full", f"{free} bytes free", free_gb=gb))
    elif free < DISK_WARN_BYTES:
        out.append(finding("disk", WARNING, "doctor.disk.low", f"{free} bytes free", free_gb=gb))
    else:
        out.append(finding("disk", OK, "doctor.disk.ok", f"{free} bytes free", free_gb=gb))
    return out


def check_database(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The store's database is there when the folder held data, and passes ``PRAGMA integrity_check``.

    Nothing is created or written here. A database that is missing, empty,
    cut short or blank in a folder that held data is named with what happened
    and ``kiosk records recover`` (see ``kiosk.store.damage``).
    """
    from kiosk.store import Store
    from kiosk.store.damage import MARKER, Damage, diagnose

    data = cfg.station.data_dir
    path = data / Store.DB_NAME
    damage = diagnose(data)
    if damage is None and not path.exists():
        return [finding("database", OK, "doctor.database.new", str(path))]
    try:
        if damage is None:
            # mode=rw: never create a database where there was none; no writes are made
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5)
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
            finally:
                conn.close()
            if version == 0 and (data / MARKER).exists():
                damage = Damage("blank", "schema version 0", (MARKER,))
    except sqlite3.Error as exc:
        log.error("doctor.database_unreadable error=%s", exc)
        damage = Damage("malformed" if "not a database" not in str(exc) else "not_database", str(exc))
    if damage is not None:
        log.error("doctor.database_damaged kind=%s", damage.kind)
        what = text(f"store.damage.{damage.kind}", "zh"), text(f"store.damage.{damage.kind}", "en")
        return [finding("database", FATAL, "doctor.database.damaged", f"{damage.kind}: {damage.detail}",
                        path=str(path), what=what[0], what_en=what[1])]
    if rows != ["ok"]:
        log.error("doctor.database_corrupt problems=%d", len(rows))
        return [finding("database", FATAL, "doctor.database.corrupt", "; ".join(rows[:3]), path=str(path))]
    return [finding("database", OK, "doctor.database.ok", str(path))]


def check_keys(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The reference format's key file is there and private (else no code can be read)."""
    if "reference" not in cfg.codes.formats:
        return []
    from kiosk.codes.keyring import KeyRing
    from kiosk.errors import KioskError

    try:
        ring = KeyRing.load(cfg.codes.key_file)
    except KioskError as exc:
        return [finding("code_keys", FATAL, "doctor.code_keys.failed", exc.detail, reason=exc.message("zh"),
                        reason_en=exc.message("en"), path=str(cfg.codes.key_file))]
    return [finding("code_keys", OK, "doctor.code_keys.ok", f"{len(ring.keys)} keys", count=len(ring.keys))]


def check_sync(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The sync daemon's heartbeat: running, not paused, not stalled."""
    from kiosk.sync.heartbeat import read_heartbeat

    if not cfg.sync.server_url:
        return [finding("sync", OK, "doctor.sync.offline")]
    beat = read_heartbeat(cfg.station.data_dir)
    if beat is None:
        return [finding("sync", WARNING, "doctor.sync.never")]
    now = probes.now()
    age = beat.age_s(now)
    detail = f"queue={beat.queue_length} dead={beat.dead} age_s={age:.0f} last_error={beat.last_error or '-'}"
    if age > HEARTBEAT_STALE_S:
        return [finding("sync", WARNING, "doctor.sync.stale", detail, minutes=f"{age / 60:.0f}")]
    if beat.paused:
        return [finding("sync", WARNING, "doctor.sync.paused", detail, queue=beat.queue_length)]
    last = beat.last_success
    if beat.queue_length and (last is None or (now - last).total_seconds() > SYNC_STALL_S):
        return [finding("sync", WARNING, "doctor.sync.stalled", detail, queue=beat.queue_length,
                        last=last.astimezone().strftime("%m-%d %H:%M") if last else "-")]
    if beat.dead:
        return [finding("sync", WARNING, "doctor.sync.dead", detail, dead=beat.dead)]
    return [finding("sync", OK, "doctor.sync.ok", detail, queue=beat.queue_length,
                    last=last.astimezone().strftime("%H:%M") if last else "-")]


def check_server(cfg: StationConfig, probes: Probes) -> list[Finding]:
    """The server, the token and the clock (see ``kiosk.doctor.net``); a warning for plain http.

    The config allows ``http://`` only to this machine (the demo's embedded
    server); a real station talks https, so the operator is told.
    """
    out = check_network(cfg, probes.server, probes.now())
    if cfg.sync.server_url.lower().startswith("http://"):
        out.append(finding("server_url", WARNING, "doctor.server_url.plain_http", cfg.sync.server_url,
                           url=cfg.sync.server_url))
    return out


#: every check, in the order of the report
CHECKS: tuple[Callable[[StationConfig, Probes], list[Finding]], ...] = (
    check_camera, check_decoder, check_face, check_disk, check_database, check_keys, check_server, check_sync,
)


# -- running and reporting ---------------------------------------------------------


def run_checks(cfg: StationConfig, probes: Probes | None = None,
               checks: tuple[Callable[[StationConfig, Probes], list[Finding]], ...] = CHECKS) -> list[Finding]:
    """Every check's findings; a check that breaks is itself a fatal finding."""
    probes = probes or Probes()
    out: list[Finding] = []
    for check in checks:
        name = check.__name__.removeprefix("check_")
        try:
            out.extend(check(cfg, probes))
        except Exception as exc:  # the doctor reports every fault, its own included
            log.exception("doctor.check_crashed check=%s", name)
            out.append(finding(name, FATAL, "doctor.check_crashed", f"{type(exc).__name__}: {exc}", check=name))
    for f in out:
        log.log(logging.DEBUG if f.ok else logging.WARNING, "doctor.finding check=%s severity=%s key=%s",
                f.name, f.severity, f.message_key)
    return out


def exit_code(findings: list[Finding]) -> int:
    """0 when all is ok, 1 with warnings only (the station can run), 2 with a fatal finding."""
    return max((_RANK[f.severity] for f in findings), default=0)


def render_table(findings: list[Finding], lang: str = "zh") -> str:
    """The report for a terminal: one row per finding, the operator's language first, then the other."""
    other = "en" if lang == "zh" else "zh"
    marks = {OK: "OK", WARNING: "WARN", FATAL: "FAIL"}
    width = max((len(f.name) for f in findings), default=4)
    lines = []
    for f in findings:
        lines.append(f"{marks[f.severity]:<4}  {f.name:<{width}}  {f.message(lang)}")
        second = f.message(other)
        if f.detail and f.detail not in second:
            second += f"  ({f.detail})"
        lines.append(f"{'':<4}  {'':<{width}}  {second}")
    verdict = {0: "doctor.verdict.ok", 1: "doctor.verdict.warnings", 2: "doctor.verdict.fatal"}[exit_code(findings)]
    lines += ["", f"{text(verdict, lang)} / {text(verdict, other)}"]
    return "\n".join(lines)


def to_json(findings: list[Finding]) -> dict[str, Any]:
    """The ``--json`` document: the verdict and every finding."""
    code = exit_code(findings)
    return {"exit_code": code, "can_run": code < 2, "findings": [f.to_json() for f in findings]}
