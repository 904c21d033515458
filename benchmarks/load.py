"""Load benchmark of the gate camera API: many cameras posting real photos at once.

`run` starts the server (``gatesim serve``) with 1 and then 2 workers on
127.0.0.1, seeds an airport day over HTTP (each person with two or more
photos enrolled, booked, checked in), then drives it from a separate process
(`drive`, asyncio and httpx) with a bounded number of simulated cameras, each
posting the people's other photos to ``/gate/v1/security`` for a fixed time.
The heaviest step runs twice, and the server's memory (RSS of all its
processes) is read after each step: the two last readings show whether memory
stays flat under the heaviest load once warm.
The same load then runs against the straightforward way
(`benchmarks.naive_server`). Every request loop is bounded in count and time
and only talks to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from gatesim.photos import load_photos

CONCURRENCY = (1, 2, 4, 8)
NAIVE_CONCURRENCY = (1, 2, 4)
AIRLINE_PASSENGERS_PER_MINUTE = 400 / 20
"""Airlines publish about 400 passengers boarded in 20 minutes at one gate."""
MAX_REQUESTS_PER_STEP = 5000


def run(
    photos: Path, *, seconds: float = 15.0, workers: tuple[int, ...] = (1, 2)
) -> dict[str, Any]:
    """Measure every worker count and concurrency; returns the results as JSON."""
    people = load_photos(photos)
    enrolled = {p: items for p, items in people.items() if len(items) >= 2}
    probes = [str(photo.path) for items in enrolled.values() for photo in items[1:]]
    results: dict[str, Any] = {"seconds_per_step": seconds, "ours": {}, "naive": {}}

    for count in workers:
        with _server(["gatesim", "serve", "--workers", str(count)]) as (url, pids):
            _seed(url, enrolled)
            steps = []
            for concurrency in CONCURRENCY:
                step = _drive_step(url, probes, concurrency, seconds)
                steps.append({**step, "server_rss_mb": _rss_mb(pids())})
            heaviest = _drive_step(url, probes, CONCURRENCY[-1], seconds)
            steps.append({**heaviest, "server_rss_mb": _rss_mb(pids())})
            results["ours"][f"{count} worker(s)"] = {
                "steps": steps,
                "memory_mb_before": steps[0]["server_rss_mb"],
                "memory_mb_after": steps[-1]["server_rss_mb"],
            }

    gallery_file = Path(tempfile.mkdtemp()) / "gallery.txt"
    gallery_file.write_text("\n".join(str(i[0].path) for i in enrolled.values()))
    naive = [sys.executable, "-m", "uvicorn", "benchmarks.naive_server:app"]
    env = {"GATESIM_NAIVE_GALLERY": str(gallery_file)}
    with _server(naive, env=env, port_flag="--port") as (url, _):
        steps = [_drive_step(url, probes, c, seconds) for c in NAIVE_CONCURRENCY]
        results["naive"]["1 worker(s)"] = {"steps": _until_first_failure(steps)}
    results["summary"] = _summary(results)
    return results


def _drive_step(
    url: str, probes: list[str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """One load step, driven from a separate process."""
    command = [
        sys.executable, "-m", "benchmarks.load", url,
        str(concurrency), str(seconds), *probes,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(output.stdout))


async def drive(
    url: str, concurrency: int, seconds: float, probe_paths: list[str]
) -> dict[str, Any]:
    """`concurrency` cameras post photos for `seconds`; latencies and errors."""
    images = [Path(path).read_bytes() for path in probe_paths]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    sent = 0

    async def camera(number: int, client: httpx.AsyncClient) -> None:
        nonlocal sent
        index = number
        while time.perf_counter() < deadline and sent < MAX_REQUESTS_PER_STEP:
            sent += 1
            files = {"image": ("frame.jpg", images[index % len(images)], "image/jpeg")}
            data = {"device_id": f"lane-{number}"}
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/gate/v1/security", files=files, data=data
                )
                ok = response.status_code < 500
                key = str(response.status_code)
            except httpx.HTTPError as error:
                ok, key = False, type(error).__name__
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors[key] = errors.get(key, 0) + 1
            index += concurrency

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(camera(n, client) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    milliseconds = [1000 * value for value in latencies]
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "decisions_per_s": round((len(latencies) - sum(errors.values())) / elapsed, 2),
        "p50_ms": _percentile(milliseconds, 50),
        "p95_ms": _percentile(milliseconds, 95),
        "p99_ms": _percentile(milliseconds, 99),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
    }


def _until_first_failure(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps up to the first with errors: after a crash, only refusals follow."""
    for index, step in enumerate(steps):
        if step["errors"]:
            return steps[: index + 1]
    return steps


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    best = {
        name: max(run["steps"], key=lambda step: step["decisions_per_s"])
        for name, run in results["ours"].items()
    }
    naive_best = max(
        results["naive"]["1 worker(s)"]["steps"], key=lambda s: s["decisions_per_s"]
    )
    machine = max(step["decisions_per_s"] for step in best.values())
    one_camera = results["ours"]["1 worker(s)"]["steps"][0]
    heaviest = [run["steps"][-2:] for run in results["ours"].values()]
    return {
        "memory_growth_mb_under_heaviest_load": [
            round(after["server_rss_mb"] - before["server_rss_mb"], 1)
            for before, after in heaviest
        ],
        "knee_concurrency": {
            name: _knee(run["steps"]) for name, run in results["ours"].items()
        },
        "machine_passengers_per_minute": round(60 * machine, 1),
        "one_gate_passengers_per_minute": round(60 * one_camera["decisions_per_s"], 1),
        "airline_published_per_gate_per_minute": AIRLINE_PASSENGERS_PER_MINUTE,
        "ours_over_naive_throughput": round(machine / naive_best["decisions_per_s"], 1),
        "errors": sum(
            step["errors"] for run in results["ours"].values() for step in run["steps"]
        ),
    }


def _knee(steps: list[dict[str, Any]]) -> int | None:
    """The first concurrency at which p50 latency exceeds 1.5x the single camera's."""
    base = steps[0]["p50_ms"]
    return next((s["concurrency"] for s in steps if s["p50_ms"] > 1.5 * base), None)


@contextmanager
def _server(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    port_flag: str = "--port",
) -> Iterator[tuple[str, Any]]:
    """Start a server on a free loopback port with a fresh database; stop it after."""
    port = _free_port()
    scratch = tempfile.mkdtemp(prefix="gatesim-load-")
    environment = {
        **os.environ,
        "GATESIM_DATABASE_URL": f"sqlite:///{scratch}/load.db",
        **(env or {}),
    }
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", port_flag, str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield url, lambda: _process_tree(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a naive request can run for seconds
            process.kill()
            process.wait(timeout=15)


def _wait_ready(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server at {url} did not start")


def _seed(url: str, enrolled: dict[str, Any]) -> None:
    """A flight today; each person registered, enrolled, booked and checked in."""
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    with httpx.Client(base_url=url, timeout=120) as api:
        flight = api.post(
            "/gate/v1/flights",
            json={
                "code": "VN213",
                "origin": "SGN",
                "destination": "HAN",
                "departure_at": datetime.now(zone).isoformat(),
                "gate": "12",
            },
        ).json()
        for number, items in enumerate(enrolled.values()):
            citizen = api.post(
                "/identity/v1/citizens",
                json={
                    "national_id": f"{79_300_000_000 + number:012d}",
                    "full_name": "Hành khách",
                    "date_of_birth": "1990-01-01",
                },
            ).json()
            portrait = items[0].path.read_bytes()
            api.post(
                f"/identity/v1/citizens/{citizen['id']}/faces",
                files={"image": ("p.jpg", portrait, "image/jpeg")},
            )
            booking = api.post(
                "/gate/v1/bookings",
                json={"citizen_id": citizen["id"], "flight_id": flight["id"]},
            ).json()
            api.post(
                "/gate/v1/check-in/staff-clear",
                json={"booking_reference": booking["reference"], "device_id": "c1"},
            )


def _process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found += _process_tree(int(child))
    return found


def _rss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], percent: float) -> float | None:
    return round(float(np.percentile(values, percent)), 1) if values else None


if __name__ == "__main__":
    target, concurrency_arg, seconds_arg, *paths = sys.argv[1:]
    result = asyncio.run(drive(target, int(concurrency_arg), float(seconds_arg), paths))
    print(json.dumps(result))
