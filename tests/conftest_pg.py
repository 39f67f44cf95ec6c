"""A throw-away PostgreSQL cluster for the server's tests, and the ``server_database_url`` fixture.

One cluster per test session, that is one per pytest-xdist worker (``initdb`` +
``pg_ctl`` from the distribution's ``postgresql`` package, in a temporary folder,
on a free loopback port, fsync off); a fresh database per test. ``initdb`` refuses to run as root, so as root
the cluster runs as the ``postgres`` user. Without PostgreSQL installed the
PostgreSQL variants are skipped, and the SQLite ones run as before.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ENGINES = ("sqlite", "postgresql")
BLOB_STORES = ("files", "database")


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running cluster: superuser ``kiosk`` on ``127.0.0.1:port``, trust authentication."""

    root: Path
    bin_dir: Path
    port: int
    user: str | None  # the system user it runs as (None: the current one)

    @property
    def admin_url(self) -> str:
        """The URL of the maintenance database."""
        return f"postgresql://kiosk@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        """The URL of database ``dbname``."""
        return f"postgresql://kiosk@127.0.0.1:{self.port}/{dbname}"

    def run(self, *args: str) -> None:
        """Run a PostgreSQL program (as the cluster's user)."""
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (closing what is still connected)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_cluster(*, durable: bool = False) -> PgCluster | None:
    """Start a cluster in a temporary folder; None when PostgreSQL is not installed.

    Tests run it without fsync (nothing in a test survives a power cut); ``durable`` keeps
    PostgreSQL's defaults (fsync, synchronous commit, full pages) and gives it the
    shared buffers a production server would have (docs/server.md), for a benchmark's figures.
    """
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(root=root, bin_dir=bin_dir, port=_free_port(), user=user)
    cluster.run("initdb", "-D", str(root / "data"), "-U", "kiosk", "-A", "trust", "-E", "UTF8", "--no-sync",
                "--locale=C")
    options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if durable:
        options += " -c shared_buffers=1GB"
    else:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    cluster.run("pg_ctl", "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "-t", "60",
                "start")
    return cluster


def stop_cluster(cluster: PgCluster) -> None:
    """Stop the cluster and remove its folder."""
    try:
        cluster.run("pg_ctl", "-D", str(cluster.root / "data"), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster (skips the test when PostgreSQL is not installed)."""
    cluster = start_cluster()
    if cluster is None:
        pytest.skip("PostgreSQL is not installed (initdb not found)")
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture
def pg_database_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    url = pg_cluster.create_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)


@pytest.fixture(params=ENGINES)
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server's ``[server] database`` for this test: SQLite in ``tmp_path``, then a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture(params=BLOB_STORES)
def blob_store(request: pytest.FixtureRequest) -> str:
    """The server's ``[server] blob_store`` for this test: photo files, then photos in the database."""
    return str(request.param)
