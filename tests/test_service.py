"""The server as an operator runs it: liveness, readiness, warm-up, time limits."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from biometrics import FaceEncoder
from biometrics.encoder import _DLIB_LOCK
from gatesim.app import create_app
from gatesim.runtime import build_runtime
from gatesim.settings import Settings
from tests.conftest import served_by_uvicorn, serving
from tests.journey import present

pytestmark = pytest.mark.slow

Photo = Callable[[str], bytes]
HEALTH_LIMIT_MS = 100.0


@pytest.fixture
def quick_settings(tmp_path: Path) -> Settings:
    """Settings with a one-second request time limit."""
    database_url = f"sqlite:///{tmp_path / 'quick.db'}"
    return Settings(database_url=database_url, request_time_limit_s=1.0)


@pytest.fixture
def quick_client(
    quick_settings: Settings, encoder: FaceEncoder
) -> Iterator[TestClient]:
    """A client of an app whose requests have one second each."""
    runtime = build_runtime(quick_settings, encoder)
    with TestClient(create_app(quick_settings, runtime)) as test_client:
        yield test_client


def _check_in(api: httpx.Client, image: bytes) -> httpx.Response:
    return present(api, "check-in", image)


def test_ready_says_starting_until_warmed_up_then_ready(
    settings: Settings, encoder: FaceEncoder
) -> None:
    app = create_app(settings, build_runtime(settings, encoder))
    before = TestClient(app).get("/ready")  # no lifespan: not started

    with TestClient(app) as client:
        after = client.get("/ready")
        health = client.get("/health")

    assert (before.status_code, before.json()) == (503, {"status": "starting"})
    assert (after.status_code, after.json()) == (200, {"status": "ready"})
    assert health.json() == {"status": "ok"}


def test_ready_says_no_when_the_database_does_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _replace_connect(client, monkeypatch, _refuse)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "database_unavailable"}
    assert client.get("/health").status_code == 200


def test_a_request_when_the_database_is_down_is_503_not_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _replace_connect(client, monkeypatch, _refuse)

    response = client.get("/gate/v1/flights")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_request_queued_past_its_time_limit_is_refused_busy(
    quick_client: TestClient, photo: Photo
) -> None:
    image = photo("people/p06/1.jpg")

    with _DLIB_LOCK:  # another request holds the face models
        started = time.perf_counter()
        refused = _check_in(quick_client, image)
        waited_s = time.perf_counter() - started
    served = _check_in(quick_client, image)

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "busy"
    assert 0.9 <= waited_s < 5.0
    assert served.status_code == 200, served.text


def test_presentation_past_its_time_limit_leaves_no_record(
    quick_client: TestClient, photo: Photo
) -> None:
    image = photo("people/p06/1.jpg")

    with _DLIB_LOCK:
        refused = _check_in(quick_client, image)
    answered = _check_in(quick_client, image)
    records = quick_client.get("/gate/v1/decisions").json()

    assert refused.json()["error"]["code"] == "busy"
    assert answered.status_code == 200, answered.text
    assert len(records) == 1


def test_an_upload_that_stalls_is_answered_408(
    quick_settings: Settings, encoder: FaceEncoder
) -> None:
    app = create_app(quick_settings, build_runtime(quick_settings, encoder))
    head = (
        "POST /identity/v1/identify HTTP/1.1\r\nHost: gate\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        "Content-Length: 100000\r\n\r\n--x\r\n"
    )

    with serving(app) as url, socket.create_connection(_address(url)) as stalled:
        stalled.sendall(head.encode())  # ...and nothing more
        answer = _read_answer(stalled)

    assert answer.startswith("HTTP/1.1 408")
    assert "request_timeout" in answer


@pytest.fixture
def server_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """One worker as `gatesim serve` runs it, in a process of its own."""
    with served_by_uvicorn(database_url, tmp_path, workers=1) as url:
        yield url


def test_health_answers_fast_while_the_worker_encodes(
    server_url: str, photo: Photo
) -> None:
    image = photo("scenes/p10_1080p.jpg")
    encoded: list[int] = []
    stop = threading.Event()

    def keep_encoding() -> None:
        with httpx.Client(base_url=server_url, timeout=60) as api:
            while not stop.is_set():
                encoded.append(_check_in(api, image).status_code)

    workers = [threading.Thread(target=keep_encoding) for _ in range(4)]
    for worker in workers:
        worker.start()
    latencies_ms = _health_latencies_ms(server_url, seconds=3.0)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)

    assert len(encoded) >= 4
    assert set(encoded) <= {200, 422}
    assert statistics.median(latencies_ms) < HEALTH_LIMIT_MS / 10
    assert max(latencies_ms) < HEALTH_LIMIT_MS


def _replace_connect(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, connect: Callable[[], None]
) -> None:
    """Make the app's database connect as `connect` does."""
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    monkeypatch.setattr(engine, "connect", connect)


def _refuse() -> None:
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def _hang() -> None:
    time.sleep(10)


def _health_latencies_ms(base_url: str, *, seconds: float) -> list[float]:
    latencies_ms = []
    with httpx.Client(base_url=base_url, timeout=10) as api:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            assert api.get("/health").status_code == 200
            latencies_ms.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
    return latencies_ms


def _read_answer(connection: socket.socket) -> str:
    """The bytes the server sends until its JSON body ends (10 s at most)."""
    connection.settimeout(10)
    answer = b""
    while not answer.endswith(b"}"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer.decode()


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def test_ready_answers_no_in_time_when_the_database_hangs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _replace_connect(client, monkeypatch, _hang)

    started = time.perf_counter()
    response = client.get("/ready")
    waited_s = time.perf_counter() - started

    assert response.json() == {"status": "database_unavailable"}
    assert waited_s < 5.0


def test_an_unexpected_error_is_a_json_500(
    settings: Settings, encoder: FaceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_arguments: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr("identity_mock.service.register_citizen", fail)
    app = create_app(settings, build_runtime(settings, encoder))
    body = {
        "national_id": "079090001111",
        "full_name": "A",
        "date_of_birth": "1990-01-01",
    }

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/identity/v1/citizens", json=body)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def test_a_malformed_multipart_body_gets_the_json_error_format(
    client: TestClient,
) -> None:
    response = client.post(
        "/gate/v1/check-in",
        content=b"--x\r\n",
        headers={"content-type": "multipart/form-data"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


UNREACHABLE_DATABASE = {
    "GATESIM_DATABASE_URL": "postgresql+psycopg://gatesim:x@127.0.0.1:9/gatesim"
}
REFUSED_SETTING = {"GATESIM_REQUIRE_API_KEYS": "true", "GATESIM_ADMIN_API_KEY": "short"}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    "fault", [UNREACHABLE_DATABASE, REFUSED_SETTING], ids=["database", "setting"]
)
def test_serve_exits_3_when_its_workers_cannot_start(
    workers: int, fault: dict[str, str]
) -> None:
    command = [
        sys.executable, "-m", "gatesim.cli", "serve", "--port", "0",
        "--workers", str(workers),
    ]  # fmt: skip

    finished = subprocess.run(
        command,
        env={**os.environ, **fault},
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 3, finished.stderr.decode()[-2000:]
