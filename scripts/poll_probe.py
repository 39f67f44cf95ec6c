"""Where a request's time goes inside one server process: a probe for scripts/bench_server_poll.py.

``serve(argv, out)`` installs the probe and runs ``kiosk server`` (one process:
the probe lives in this interpreter only). For every status poll and upload it
appends one JSON line to ``out``:

- ``total``: from the request reaching the application to the last byte of its answer;
- ``hops``: each hand-over to a worker thread (the edge's token check, the route), as
  [what, waited for a thread, ran, CPU of the thread while it ran];
- ``busy``/``of``: threads of the hand-over's limiter already busy when it was asked for, of how many;
- ``checkout``: time spent taking a connection from the pool;
- ``sql``: time in the database driver's execute (the database, and the GIL taken back after it);
- ``after``: from the route's thread ending to the answer's first byte (validating and
  serialising the response, and the event loop's turn).

Nothing here is imported by the server itself: the probe patches anyio's thread
hand-over, SQLAlchemy's pool and the application class from outside.
"""

from __future__ import annotations

import contextvars
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("probe", default=None)
_PATHS = ("/api/v1/records/status", "/api/v1/records/")


def install(out: Path) -> None:
    """Patch the thread hand-over, the pool, the driver and the application to time each request."""
    import anyio.to_thread
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import QueuePool

    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    original_run_sync = anyio.to_thread.run_sync

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        rec = _current.get()
        if rec is None:
            return await original_run_sync(func, *args, **kwargs)
        asked = time.perf_counter()
        timing: list[Any] = [getattr(func, "__name__", "?"), 0.0, 0.0, 0.0]
        limiter = kwargs.get("limiter") or anyio.to_thread.current_default_thread_limiter()
        # the threads of its limiter already busy when this hand-over was asked for
        rec["busy"] = max(rec.get("busy", 0), int(limiter.borrowed_tokens))
        rec["of"] = int(limiter.total_tokens)

        def timed(*a: Any) -> Any:
            began = time.perf_counter()
            cpu = time.thread_time()
            timing[1] = began - asked
            try:
                return func(*a)
            finally:
                timing[2] = time.perf_counter() - began
                timing[3] = time.thread_time() - cpu
                rec["thread_end"] = time.perf_counter()

        try:
            return await original_run_sync(timed, *args, **kwargs)
        finally:
            rec["hops"].append([timing[0], round(timing[1] * 1000, 3), round(timing[2] * 1000, 3),
                                round(timing[3] * 1000, 3)])

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    import kiosk.server.limits

    kiosk.server.limits.run_sync = run_sync  # type: ignore[assignment]

    original_do_get = QueuePool._do_get

    def do_get(self: Any) -> Any:
        began = time.perf_counter()
        try:
            return original_do_get(self)
        finally:
            rec = _current.get()
            if rec is not None:
                rec["checkout"] += time.perf_counter() - began

    QueuePool._do_get = do_get  # type: ignore[method-assign]

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        context._probe_began = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        rec = _current.get()
        if rec is not None:
            rec["sql"] += time.perf_counter() - context._probe_began
            rec["statements"] += 1

    from kiosk.server.app import ServerApp

    original_call = ServerApp.__call__

    async def call(self: Any, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or not path.startswith(_PATHS):
            await original_call(self, scope, receive, send)
            return
        rec: dict[str, Any] = {"kind": "status" if path.endswith("/status") else "upload", "hops": [],
                               "checkout": 0.0, "sql": 0.0, "statements": 0, "began": time.perf_counter()}
        token = _current.set(rec)

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                rec["first_byte"] = time.perf_counter()
                rec["code"] = message["status"]
            await send(message)

        try:
            await original_call(self, scope, receive, timed_send)
        finally:
            _current.reset(token)
            ended = time.perf_counter()
            line = {"kind": rec["kind"], "code": rec.get("code"), "total": ms(ended - rec["began"]),
                    "hops": rec["hops"], "checkout": ms(rec["checkout"]), "sql": ms(rec["sql"]),
                    "statements": rec["statements"], "busy": rec.get("busy"), "of": rec.get("of"),
                    "after": ms(rec["first_byte"] - rec["thread_end"]) if "thread_end" in rec and "first_byte" in rec
                    else None}
            os.write(fd, (json.dumps(line) + "\n").encode())

    ServerApp.__call__ = call  # type: ignore[method-assign]


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded for the log."""
    return round(seconds * 1000, 3)


def serve(argv: list[str], out: Path) -> int:
    """Install the probe, then run ``kiosk`` with ``argv`` (``server --config ...``) in this process."""
    install(out)
    if os.environ.get("PROBE_SWITCH_INTERVAL_S"):  # to try another GIL switch interval than 5 ms
        sys.setswitchinterval(float(os.environ["PROBE_SWITCH_INTERVAL_S"]))
    from kiosk.cli import main

    return main(argv)


if __name__ == "__main__":
    raise SystemExit(serve(sys.argv[2:], Path(sys.argv[1])))
