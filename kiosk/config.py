"""Typed settings: one schema drives the TOML files, their comments and validation.

Each section is a frozen dataclass; each field carries its help text (and,
where it matters, its allowed range or choices) in ``field(metadata=...)``.
From that one schema come:

* ``load_station`` / ``load_server``: parse a TOML file, reject unknown keys,
  wrong types and bad values with a ``ConfigError`` naming file, key and the
  expected form (never a traceback);
* ``render_toml``: the commented default file shipped in ``config/`` (a test
  keeps the shipped files equal to it, so no option goes undocumented).

The form (``opt``, parsing, rendering) lives in ``kiosk.configfile``; this
module is the schema. Modules never read configuration themselves: the command line loads it once
and hands each part the section it needs.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.configfile import ConfigError, load, opt, parse, render_toml

__all__ = ["ConfigError", "ServerConfig", "StationConfig", "load", "load_server", "load_station", "opt", "parse",
           "render_toml"]


# ---------------------------------------------------------------------------
# Station (config/kiosk.toml)


@dataclass(frozen=True)
class StationSection:
    """Who this station is and where it keeps its data."""

    id: str = opt("station-01", "Station id, unique within a batch; printed on receipts and logs.")
    data_dir: Path = opt(Path("/var/lib/kiosk"), "Records, photos and the database live here (mode 0700).")
    language: str = opt("zh", "First language on screen.", choices=("zh", "en"))
    batch: str = opt("", "Feature code of today's batch (4-8 letters/digits); the operator can set it on screen.")
    public_url: str = opt("", "The server's address as students' phones reach it (status-page and bind-page QR "
                          "codes); empty: [sync] server_url.")
    receipt_printer: str = opt("", "ESC/POS receipt printer device (e.g. /dev/usb/lp0) for the student's slip; "
                               "empty: no slip.")


@dataclass(frozen=True)
class CodesSection:
    """Collection codes and the last-four check."""

    formats: list[str] = opt(None, "Collection-code formats this station accepts "
                             "(entry points in 'kiosk.code_formats').",
                             factory=lambda: ["reference"])
    key_file: Path = opt(Path("/etc/kiosk/code-keys.json"), "Secret keys of the reference format (mode 0600).")
    max_attempts: int = opt(3, "Wrong last-four entries before a code is locked on this station.", lo=1, hi=10)
    lock_minutes: float = opt(10.0, "How long a code stays locked after too many wrong entries.", lo=0.1, hi=1440)
    max_age_days: int = opt(400, "Codes issued longer ago than this are refused as expired.", lo=1, hi=3650)
    clock_skew_minutes: float = opt(60.0, "Codes issued up to this far in the future (by this station's clock) "
                                    "are still accepted.", lo=0, hi=1440)


@dataclass(frozen=True)
class ScannerSection:
    """Reading QR codes from camera frames."""

    backend: str = opt("zxing", "QR decoder: zxing (zxing-cpp) or zbar (needs libzbar0 and the 'zbar' extra).",
                       choices=("zxing", "zbar"))
    debounce_s: float = opt(3.0, "The same code is reported once within this many seconds.", lo=0.1, hi=60)
    budget_ms: float = opt(15.0, "Time budget per frame for the extra decode passes.", lo=1, hi=200)


@dataclass(frozen=True)
class CameraSection:
    """The camera and its stream."""

    source: str = opt("auto", "auto (first USB camera, else demo), demo, a device index, /dev/videoN, "
                      "a /dev/v4l/by-id path, or a video/image file.")
    width: int = opt(1280, "Capture width in pixels.", lo=320, hi=4096)
    height: int = opt(720, "Capture height in pixels.", lo=240, hi=3072)
    fps: int = opt(30, "Frames per second asked of the camera.", lo=1, hi=120)
    mjpg: bool = opt(True, "Ask the camera for MJPG (needed for HD at 30 fps on USB 2).")
    exposure: float = opt(-1.0, "Manual exposure (V4L2 units); -1 keeps automatic exposure.", lo=-1, hi=10000)
    white_balance: int = opt(-1, "Manual white balance in kelvin; -1 keeps automatic.", lo=-1, hi=10000)
    reconnect_max_s: float = opt(5.0, "Longest wait between reconnect attempts after an unplug.", lo=0.1, hi=60)
    demo_background: str = opt("blue", "Backdrop of the demo camera's synthetic scene.",
                               choices=("blue", "white", "grey", "busy"))
    mirrored: bool = opt(False, "The camera delivers mirror-image frames (some webcams do): flip them back, "
                         "so that the saved photo is never mirrored.")


@dataclass(frozen=True)
class PortraitSection:
    """Live guidance, auto-capture and the standard photo."""

    background: str = opt("blue", "Background colour the batch expects.", choices=("blue", "white", "grey"))
    hold_s: float = opt(0.8, "All checks must pass this long before the countdown starts.", lo=0.1, hi=5)
    countdown_s: int = opt(3, "Countdown length in seconds.", lo=0, hi=10)
    keep_original: bool = opt(True, "Also keep a head-and-shoulders original at camera resolution.")
    detect_width: int = opt(320, "Frames are downscaled to this width for face detection.", lo=160, hi=1920)
    jpeg_min_kb: int = opt(20, "Smallest acceptable photo file, in KB.", lo=5, hi=200)
    jpeg_max_kb: int = opt(40, "Largest acceptable photo file, in KB.", lo=10, hi=500)
    mirror_preview: bool = opt(True, "Show the preview mirrored (the saved photo never is).")
    smoothing_s: float = opt(0.15, "Time constant of the smoothing of face measurements (0: none).", lo=0, hi=2)
    max_upscale: float = opt(1.6, "Largest enlargement of the capture allowed to make the photo; "
                             "a smaller face is asked to step closer.", lo=1, hi=4)
    tilt_max_deg: float = opt(5.0, "Largest tilt of the eye line accepted, in degrees.", lo=1, hi=20)
    sharpest_of: int = opt(5, "At the end of the countdown the sharpest of this many last frames is kept.",
                           lo=1, hi=30)

    def problems(self) -> list[tuple[str, str]]:
        """Settings whose values do not fit together: (key, expected form)."""
        if self.jpeg_min_kb >= self.jpeg_max_kb:
            return [("jpeg_min_kb", "a whole number less than jpeg_max_kb")]
        return []


@dataclass(frozen=True)
class FlowSection:
    """The student session."""

    idle_timeout_s: float = opt(60.0, "Idle seconds on any screen before returning to Welcome.", lo=5, hi=600)
    done_timeout_s: float = opt(180.0, "Seconds the Done screen stays up when nobody taps Finish (time to photograph "
                                "its QR codes); a codeless student's claim ticket stays until staff confirm.",
                                lo=3, hi=1800)
    check_days: int = opt(30, "Days after capture within which the Done screen asks the student to check and confirm "
                          "the photo on the status page.", lo=1, hi=365)
    max_retakes: int = opt(3, "Retakes a student may ask for on the Review screen.", lo=0, hi=20)
    status_url: str = opt("", "Text of the status QR on the Done screen, '{record_id}' filled in "
                          "(e.g. https://photos.example.edu.cn/status/{record_id}); empty: the record id alone.")
    still_there_s: float = opt(20.0, "Seconds of the 'still there?' countdown shown before a timeout discards "
                               "a session's work (typed entries, a photo).", lo=5, hi=120)
    camera_hold_s: float = opt(600.0, "Seconds a session is kept while the camera is unplugged (the screen "
                               "promises the student's details are kept that long).", lo=60, hi=3600)
    attract_after_s: float = opt(90.0, "Idle seconds on Welcome before the attract screen shows the steps.",
                                 lo=10, hi=3600)
    tap_guard_s: float = opt(0.6, "Seconds taps are ignored after the screen changes (a tap meant for the "
                             "previous screen).", lo=0, hi=2)


@dataclass(frozen=True)
class OperatorSection:
    """Operator mode."""

    pin_hash: str = opt("", "PBKDF2 hash of the operator PIN ('kiosk config pin' makes one); empty: demo PIN 0000.")
    max_attempts: int = opt(5, "Wrong PINs before operator mode locks.", lo=1, hi=20)
    lock_minutes: float = opt(60.0, "Longest operator lock: each lockout since the last right PIN lasts longer "
                              "(30 s, 1 min, 5 min, 15 min, 60 min) up to this; 'kiosk operator unlock' lifts it.",
                              lo=0.1, hi=1440)


@dataclass(frozen=True)
class SyncSection:
    """Uploading records to the collection server."""

    server_url: str = opt("", "Collection server base URL, https:// (plain http:// only to this machine: "
                          "localhost, 127.0.0.1, ::1), e.g. https://photos.example.edu.cn; empty: offline.")
    token_file: Path = opt(Path("/etc/kiosk/station.token"), "Bearer token of this station (mode 0600).")
    ca_bundle: str = opt("", "CA bundle for the server's certificate; empty: the system's.")
    connect_timeout_s: float = opt(5.0, "Connect timeout per request.", lo=0.1, hi=120)
    read_timeout_s: float = opt(30.0, "Read timeout per request.", lo=0.1, hi=600)
    backoff_base_s: float = opt(1.0, "First retry delay; doubles each attempt.", lo=0.01, hi=600)
    backoff_cap_s: float = opt(300.0, "Longest retry delay.", lo=0.1, hi=86400)
    lease_s: float = opt(120.0, "A record being sent is leased this long before another worker may take it.",
                         lo=1, hi=3600)
    poll_s: float = opt(5.0, "Idle wait between queue checks.", lo=0.05, hi=600)
    status_every_s: float = opt(60.0, "How often review status is pulled from the server.", lo=1, hi=3600)
    heartbeat_every_s: float = opt(60.0, "How often the station tells the server it is alive "
                                   "(version, queue length).", lo=5, hi=3600)

    def problems(self) -> list[tuple[str, str]]:
        """Settings whose values do not fit together or are not allowed: (key, expected form)."""
        out = []
        if self.server_url and not server_url_ok(self.server_url):
            out.append(("server_url", SERVER_URL_EXPECTED))
        if self.backoff_base_s > self.backoff_cap_s:
            out.append(("backoff_base_s", "a number no greater than backoff_cap_s"))
        return out


SERVER_URL_EXPECTED = ("an https:// URL without user name or password (plain http:// only to localhost, "
                       "127.0.0.1 or ::1)")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host name) is this machine: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_url_ok(url: str) -> bool:
    """Whether ``url`` may carry the station's token and students' data.

    Only ``https://``: the bearer token and the records would cross the
    network in clear text otherwise. Plain ``http://`` is allowed to this
    machine alone (the demo's embedded server). A user name or password in
    the URL, another scheme, a query or fragment, or no host are refused.
    """
    if url != url.strip() or any(not c.isprintable() or c.isspace() for c in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return False
    if not host or parts.query or parts.fragment:
        return False
    scheme = parts.scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback(host))


@dataclass(frozen=True)
class RetentionSection:
    """When students' data is deleted."""

    photo_days_after_ack: int = opt(30, "Station photos are deleted this many days after the server acknowledged them.",
                                    lo=0, hi=3650)
    record_days: int = opt(365, "Everything is deleted this many days after capture.", lo=1, hi=3650)


@dataclass(frozen=True)
class HelpSection:
    """Help shown on every screen when the batch has none of its own."""

    phone: str = opt("400-000-0000", "Customer-service phone number.")
    hours: str = opt("周一至周五 9:00-17:00（法定节假日除外）", "Customer-service hours.")


@dataclass(frozen=True)
class LoggingSection:
    """Operator logs (no personal data is ever written)."""

    level: str = opt("INFO", "Log level.", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    file: str = opt("", "Also log to this file, rotated; empty: standard error only (journald).")
    max_bytes: int = opt(5_000_000, "Rotate the log file at this size.", lo=10_000, hi=1_000_000_000)
    backups: int = opt(5, "Rotated log files kept.", lo=0, hi=100)


@dataclass(frozen=True)
class StationConfig:
    """Everything a station reads from ``kiosk.toml``."""

    station: StationSection = field(default_factory=StationSection)
    codes: CodesSection = field(default_factory=CodesSection)
    scanner: ScannerSection = field(default_factory=ScannerSection)
    camera: CameraSection = field(default_factory=CameraSection)
    portrait: PortraitSection = field(default_factory=PortraitSection)
    flow: FlowSection = field(default_factory=FlowSection)
    operator: OperatorSection = field(default_factory=OperatorSection)
    sync: SyncSection = field(default_factory=SyncSection)
    retention: RetentionSection = field(default_factory=RetentionSection)
    help: HelpSection = field(default_factory=HelpSection)
    logging: LoggingSection = field(default_factory=LoggingSection)


# ---------------------------------------------------------------------------
# Server (config/server.toml)


@dataclass(frozen=True)
class ServerSection:
    """The reference collection server."""

    host: str = opt("127.0.0.1", "Address to listen on.")
    port: int = opt(8700, "Port to listen on.", lo=1, hi=65535)
    workers: int = opt(1, "Server processes sharing the port; more than one wants a PostgreSQL database.",
                       lo=1, hi=64)
    data_dir: Path = opt(Path("/var/lib/kiosk-server"), "Database and content-addressed photos.")
    database: str = opt("", "Database URL: empty for sqlite:///<data_dir>/server.db, or "
                            "postgresql://user@host/dbname (several server processes may share it).")
    blob_store: str = opt("files", "Where photos live: 'files' (content-addressed files in data_dir/photos) or "
                          "'database' (a table of the database: one backup, no shared folder between hosts).",
                          choices=("files", "database"))
    admin_token_file: Path = opt(Path("/etc/kiosk-server/admin.token"), "Admin bearer token (mode 0600).")
    max_photo_bytes: int = opt(2_000_000, "Largest photo accepted.", lo=1000, hi=50_000_000)
    retention_days: int = opt(365, "Records and photos are deleted this many days after capture.", lo=1, hi=3650)
    batches_file: str = opt("", "TOML file of batches to create at start; empty: none.")
    purge_every_hours: float = opt(1.0, "How often the running server deletes records past retention.",
                                   lo=0.01, hi=168)
    bind_max_misses: int = opt(5, "Wrong code binds from a phone (no token) before that ticket is locked.",
                               lo=1, hi=100)
    bind_lock_minutes: float = opt(15.0, "How long a ticket stays locked for phones after too many misses.",
                                   lo=0.1, hi=1440)
    bind_rate_per_minute: int = opt(30, "Bind attempts (API and /bind page) one client address may make per "
                                    "minute without a token; more get 429.", lo=1, hi=100_000)
    bind_rate_per_minute_station: int = opt(300, "Bind attempts one client address may make per minute with a "
                                            "station token.", lo=1, hi=100_000)
    forwarded_allow_ips: str = opt("127.0.0.1", "Proxies trusted to give the client's address in X-Forwarded-For "
                                   "(comma-separated; the rate limit counts per client address).")
    max_json_bytes: int = opt(16_384, "Largest JSON request body (bind, status, review, batches, tokens).",
                              lo=1024, hi=1_000_000)
    capture_skew_hours: float = opt(24.0, "A record's capture time may lie this far outside its batch's dates "
                                    "(and ahead of the server's clock).", lo=0, hi=720)
    header_timeout_s: float = opt(10.0, "A client must send a request's headers within this many seconds.",
                                  lo=1, hi=300)
    body_timeout_s: float = opt(120.0, "A client must send a request's whole body within this many seconds.",
                                lo=1, hi=3600)
    keep_alive_s: int = opt(5, "An idle connection is closed after this many seconds.", lo=1, hi=300)
    max_connections: int = opt(2000, "Open connections and requests at once; more are answered 503.",
                               lo=10, hi=100_000)
    api_docs: bool = opt(False, "Serve interactive API docs at /docs and /redoc (they load scripts from a CDN: "
                         "development only); /openapi.json is always served.")
    bind_client_max_misses: int = opt(30, "Wrong code binds from one client address (no token) before it is locked.",
                                      lo=1, hi=10000)
    bind_station_max_misses: int = opt(50, "Wrong code binds from one station before it is locked.",
                                       lo=1, hi=10000)
    public_url: str = opt("", "The server's address as people open it (https://photos.example.edu); "
                             "console cookies are Secure when it is https. Empty: as requested.")
    timezone: str = opt("Asia/Shanghai", "Time zone (IANA name) of the collection days: batch dates, deadlines "
                        "and times on the pages.")
    console_idle_minutes: float = opt(60.0, "A console session ends after this long without a request.",
                                      lo=1, hi=1440)
    console_max_hours: float = opt(12.0, "A console session ends this long after login, used or not.", lo=0.1, hi=168)
    login_max_misses: int = opt(5, "Wrong passwords in a row before an account is locked for a while.", lo=1, hi=100)
    login_address_max_misses: int = opt(20, "Wrong passwords from one client address before it is locked.",
                                        lo=1, hi=1000)
    login_lock_minutes: float = opt(15.0, "How long a locked account or address must wait.", lo=0.1, hi=1440)
    review_claim_minutes: float = opt(5.0, "How long a record stays with the reviewer who opened it.", lo=0.1,
                                      hi=120)
    station_silent_minutes: float = opt(5.0, "The dashboard flags a station whose last heartbeat is older.",
                                        lo=0.5, hi=1440)
    notifier: str = opt("none", "Where review results for students who left a phone number go: none (no "
                        "message is promised), outbox (a table an SMS gateway reads), webhook (POSTed as JSON).",
                        choices=("none", "outbox", "webhook"))
    notify_webhook_url: str = opt("", "The webhook's URL (notifier = webhook).")
    notify_webhook_secret_file: Path = opt(Path("/etc/kiosk-server/webhook.secret"),
                                           "HMAC-SHA256 key of the webhook's signature header (mode 0600).")


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server reads from ``server.toml``."""

    server: ServerSection = field(default_factory=ServerSection)
    codes: CodesSection = field(default_factory=CodesSection)
    logging: LoggingSection = field(default_factory=LoggingSection)


def load_station(path: Path | str | None) -> StationConfig:
    """The station's settings from ``kiosk.toml`` (defaults when ``path`` is None)."""
    return load(StationConfig, path)


def load_server(path: Path | str | None) -> ServerConfig:
    """The server's settings from ``server.toml`` (defaults when ``path`` is None)."""
    return load(ServerConfig, path)
