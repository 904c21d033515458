"""Shared fixtures: the real photos, one face encoder per session, an app client,
and the databases: SQLite, and a throwaway PostgreSQL server per session."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from biometrics import FaceEncoder
from gatesim.app import create_app
from gatesim.db import create_schema, make_engine, session_factory
from gatesim.runtime import build_runtime
from gatesim.settings import Settings

FACES = Path(
    os.environ.get("GATESIM_TEST_FACES", Path(__file__).parents[2] / "shared" / "faces")
)
"""The open test photos (never copied into the project)."""


@pytest.fixture(scope="session")
def faces() -> Path:
    """The folder of real photos; tests that need it skip if it is missing."""
    if not (FACES / "manifest.csv").exists():
        pytest.skip(f"real photos not found at {FACES} (set GATESIM_TEST_FACES)")
    return FACES


@pytest.fixture(scope="session")
def photo(faces: Path) -> Callable[[str], bytes]:
    """Bytes of a photo by its path in the photo folder, e.g. ``people/p01/1.jpg``."""

    def read(relative_path: str) -> bytes:
        return (faces / relative_path).read_bytes()

    return read


@pytest.fixture(scope="session")
def encoder() -> FaceEncoder:
    """One face encoder (dlib models) for the whole test session."""
    return FaceEncoder()


DATABASES = ["sqlite", "postgresql"]
"""What a test marked ``both_databases`` runs on."""
POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"
"""Where Debian puts each PostgreSQL version's server binaries."""
SERVER_USER = "postgres"
"""Who runs the server when the tests run as root (initdb refuses root)."""
INITDB_OPTIONS = ("-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C")
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off"
)
"""Loopback only; durability off, for speed: the data dies with the session."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests marked ``both_databases`` once on SQLite, once on PostgreSQL."""
    marked = metafunc.definition.get_closest_marker("both_databases") is not None
    if marked and "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", DATABASES, indirect=True)


class PostgresCluster:
    """A throwaway PostgreSQL server: its own folder, a loopback port, no password."""

    def __init__(
        self, bindir: str, folder: Path, account: pwd.struct_passwd | None
    ) -> None:
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._as_server_user: list[str] = []
        if account is not None:
            os.chown(folder, account.pw_uid, account.pw_gid)
            self._as_server_user = ["runuser", "-u", account.pw_name, "--"]
        self._names = itertools.count(1)
        self._admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one of its databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Create the cluster and start its server, waiting until it answers."""
        self._run("initdb", "-D", str(self.data), *INITDB_OPTIONS, "--no-sync")
        options = f"-p {self.port} -k {self.folder} {SERVER_OPTIONS}"
        log = str(self.folder / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        """Stop the server at once, if it runs."""
        self._admin.dispose()
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database, dropped afterwards; its URL."""
        name = f"test_{next(self._names)}"
        with self._admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield self.url(name)
        with self._admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))

    def _run(self, program: str, *arguments: str) -> None:
        command = [*self._as_server_user, f"{self.bindir}/{program}", *arguments]
        ran = subprocess.run(command, cwd=self.folder, capture_output=True, text=True)
        if ran.returncode != 0:
            log = self.folder / "server.log"
            logged = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{program} failed: {ran.stderr}{logged}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL server in a temporary folder, for the whole session."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under "
            f"{POSTGRES_BINARIES} or on PATH: install postgresql-15"
        )
    account = _server_account()
    folder = Path(tempfile.mkdtemp(prefix="gatesim-pg-"))
    cluster = PostgresCluster(bindir, folder, account)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _postgres_bindir() -> str | None:
    """The newest PostgreSQL server binaries found here, if any."""
    versions = sorted(
        glob.glob(POSTGRES_BINARIES), key=lambda path: int(Path(path).parent.name)
    )
    found = [path for path in versions if Path(path, "initdb").exists()]
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return str(Path(initdb).resolve().parent) if initdb else None


def _server_account() -> pwd.struct_passwd | None:
    """Who the server runs as: the postgres user under root, else this user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.skip(f"running as root and no {SERVER_USER} user to run PostgreSQL")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite, or PostgreSQL where parametrised."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    with cluster.database() as url:
        yield url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the fresh database (see `database_url`), migrated."""
    engine = make_engine(database_url)
    create_schema(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Default settings on a fresh database (see `database_url`).

    The development key of a SQLite database lives next to its file; on
    PostgreSQL it goes in the test's folder.
    """
    if database_url.startswith("sqlite"):
        return Settings(database_url=database_url)
    return Settings(database_url=database_url, template_key_file=tmp_path / "key")


@pytest.fixture
def client(settings: Settings, encoder: FaceEncoder) -> Iterator[TestClient]:
    """An HTTP client of the whole application on a fresh database."""
    runtime = build_runtime(settings, encoder)
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


@pytest.fixture
def live_server(settings: Settings, encoder: FaceEncoder) -> Iterator[str]:
    """The application served by uvicorn on a free loopback port; its base URL."""
    with serving(create_app(settings, build_runtime(settings, encoder))) as url:
        yield url


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve the app with uvicorn in a thread on a free loopback port."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


SERVER_START_TIMEOUT_S = 180.0


@contextmanager
def served_by_uvicorn(
    database_url: str, folder: Path, *, workers: int
) -> Iterator[str]:
    """Serve the app as an airport runs it: uvicorn with `workers` processes.

    The server's output goes to ``server.log`` in `folder`; it must hold no
    traceback when the server has stopped.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    environment = {
        **os.environ,
        "GATESIM_DATABASE_URL": database_url,
        "GATESIM_TEMPLATE_KEY_FILE": str(folder / "template.key"),
    }
    command = [
        sys.executable, "-m", "uvicorn", "gatesim.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning",
    ]  # fmt: skip
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base_url, server, log_path)
            yield base_url
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    assert "Traceback" not in log_path.read_text()


def _wait_until_ready(
    base_url: str, server: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the server was not ready in {SERVER_START_TIMEOUT_S} s")
