"""The benchmarks run end to end at a smoke size (timings are not asserted)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from benchmarks.load import drive
from gatesim.cli import main

pytestmark = pytest.mark.slow


def test_bench_writes_tables_json_and_chart_at_smoke_size(
    faces: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = faces / "scenes" / "p10_1080p.jpg"

    exit_code = main(
        [
            "bench",
            "--sizes", "420,5000",
            "--build-sizes", "420",
            "--probes", "5",
            "--rounds", "1",
            "--photo", str(photo),
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    result = json.loads((tmp_path / "bench.json").read_text())
    printed = capsys.readouterr().out

    assert exit_code == 0
    assert [row["size"] for row in result["matching"]["sizes"]] == [420, 5000]
    assert {"ours_over_faiss", "ours_over_floor", "naive_over_ours"} <= set(
        result["matching"]["sizes"][0]
    )
    assert set(result["stages"]["stages_ms"]["phone 12 MP"]) >= {
        "decode",
        "detect",
        "encode",
        "match",
        "database and rules",
    }
    assert (tmp_path / "matching.png").stat().st_size > 1000
    assert "ours/floor" in printed


def test_load_driver_reports_rates_latencies_and_no_errors(
    live_server: str, faces: Path
) -> None:
    photos = [str(faces / "people" / "p06" / name) for name in ("1.jpg", "2.jpg")]

    step = asyncio.run(
        drive(live_server, concurrency=2, seconds=1.0, probe_paths=photos)
    )

    assert step["requests"] >= 2
    assert step["errors"] == 0
    assert step["decisions_per_s"] > 0
    assert step["p50_ms"] <= step["p95_ms"] <= step["p99_ms"]
