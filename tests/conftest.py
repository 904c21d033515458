"""Shared fixtures: the real photos, one face encoder per session, an app client."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from biometrics import FaceEncoder
from gatesim.app import create_app
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings on a fresh SQLite file."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}")


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
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
