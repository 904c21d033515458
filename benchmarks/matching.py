"""Match latency of the comparison core against the naive way, faiss and the floor.

All methods run side by side in one process, interleaved probe by probe (each
probe is searched by every method in turn), so a noisy shared machine slows
them alike; the ratios are the result, the absolute
times are this machine's. Galleries are random encodings scaled like dlib's:
the search time does not depend on the values, only on the sizes.

- naive: face_recognition's ``face_distance`` over the gallery, then ``argmin``
  (what most users write);
- ours: `biometrics.Gallery.search` (top-2 subjects, exact distances);
- faiss: ``IndexFlatL2`` (exact search, the reference library);
- floor: the time to read the gallery once from memory (the fastest of a
  one-thread and an all-thread ``max`` over its bytes): no exact search of a
  gallery that does not fit in cache can be faster.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from biometrics.matching import ENCODING_SIZE, Gallery

DEFAULT_SIZES = (420, 42_000, 100_000, 1_000_000)
"""A flight, a security checkpoint, an airport-day, a population (10M optional)."""
BATCH_PROBES = 64
GEMM_SIDE = 2048
"""Side of the square float32 product that measures the machine's GEMM rate."""
BLAS_IDLE_S = 0.25
"""Wait after the GEMM: OpenBLAS's threads spin for about 0.1 s after a
threaded call and would take a core from the batch timed next."""
ENCODING_SCALE = 0.09
"""Standard deviation of one encoding component, as in dlib's encodings."""


@dataclass
class SizeResult:
    """Latencies (ms) and ratios at one gallery size."""

    size: int
    build_s: float
    floor_ms: float
    ours_ms: float
    ours_p95_ms: float
    naive_ms: float
    faiss_ms: float | None
    batch_ours_ms: float
    batch_faiss_ms: float | None
    batch_gflops: float
    """Rate of the batch search, counting 2 x 128 flops per probe and template."""
    gemm_gflops: float
    """The machine's float32 GEMM rate on all cores, in turns with the batch."""

    @property
    def ratios(self) -> dict[str, float | None]:
        """ours / faiss, ours / floor, naive / ours (lower, lower, higher is better)."""
        return {
            "ours_over_faiss": _ratio(self.ours_ms, self.faiss_ms),
            "ours_over_floor": _ratio(self.ours_ms, self.floor_ms),
            "naive_over_ours": _ratio(self.naive_ms, self.ours_ms),
            "batch_ours_over_faiss": _ratio(self.batch_ours_ms, self.batch_faiss_ms),
        }


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES, *, probes: int = 50, rounds: int = 3
) -> dict[str, Any]:
    """Measure every size; returns the machine, the GEMM rate and one row per size.

    Each batch is compared with the best GEMM rate of the whole run: a burst of
    other work during one size can lower its fraction, never raise it.
    """
    rng = np.random.default_rng(2026)
    results = [_measure_size(size, rng, probes, rounds) for size in sizes]
    gemm_gflops = max(result.gemm_gflops for result in results)
    return {
        "machine": machine(),
        "gemm_gflops": gemm_gflops,
        "sizes": [
            {
                **asdict(result),
                **result.ratios,
                "batch_fraction_of_gemm": round(result.batch_gflops / gemm_gflops, 2),
            }
            for result in results
        ],
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            names = [
                line.split(":", 1)[1].strip() for line in handle if "model name" in line
            ]
        model = names[0] if names else model
    return {"cpu": model, "cores": os.cpu_count(), "numpy": np.__version__}


def _measure_size(
    size: int, rng: np.random.Generator, probe_count: int, rounds: int
) -> SizeResult:
    encodings = _encodings(rng, size)
    started = time.perf_counter()
    gallery = Gallery.build([f"{i:08d}" for i in range(size)], encodings)
    build_s = time.perf_counter() - started
    probes = _encodings(rng, probe_count)
    batch = (
        probes[:BATCH_PROBES]
        if probe_count >= BATCH_PROBES
        else _encodings(rng, BATCH_PROBES)
    )
    faiss_index = _faiss_index(gallery.encodings)
    naive_probes = probes[: max(3, min(probe_count, 50_000_000 // (size * 128) + 3))]

    methods: dict[str, Callable[[npt.NDArray[np.float32]], object]] = {
        "floor": lambda _probe: _read_once(gallery.encodings),
        "ours": lambda probe: gallery.search(probe, k=2),
        "naive": lambda probe: _naive(encodings, probe),
    }
    if faiss_index is not None:
        methods["faiss"] = lambda probe: faiss_index.search(probe[None, :], 2)
    timings: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for index, probe in enumerate(probes):
            for name, method in methods.items():
                if name == "naive" and index >= len(naive_probes):
                    continue
                timings[name].append(_latency_ms(method, probe))

    batch_ours, gemm_gflops = _batch_and_gemm(
        lambda: gallery.search_batch(batch, k=2), rounds
    )
    batch_faiss = (
        _best_ms(lambda: faiss_index.search(batch, 2), rounds) if faiss_index else None
    )
    flops = 2.0 * ENCODING_SIZE * size * BATCH_PROBES
    faiss_times = timings.get("faiss")
    return SizeResult(
        size=size,
        build_s=round(build_s, 3),
        floor_ms=_median(timings["floor"]),
        ours_ms=_median(timings["ours"]),
        ours_p95_ms=_p95(timings["ours"]),
        naive_ms=_median(timings["naive"]),
        faiss_ms=_median(faiss_times) if faiss_times else None,
        batch_ours_ms=round(batch_ours, 3),
        batch_faiss_ms=round(batch_faiss, 3) if batch_faiss else None,
        batch_gflops=round(flops / batch_ours / 1e6, 1),
        gemm_gflops=round(gemm_gflops, 1),
    )


def _encodings(rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    values = rng.normal(0.0, ENCODING_SCALE, (count, ENCODING_SIZE))
    return values.astype(np.float32)


def _naive(encodings: npt.NDArray[np.float32], probe: npt.NDArray[np.float32]) -> int:
    import face_recognition

    return int(np.argmin(face_recognition.face_distance(encodings, probe)))


def _faiss_index(encodings: npt.NDArray[np.float32]) -> Any:
    try:
        import faiss
    except ImportError:
        return None
    index = faiss.IndexFlatL2(ENCODING_SIZE)
    index.add(encodings)
    return index


def _read_once(encodings: npt.NDArray[np.float32]) -> float:
    """Read every byte of the gallery once: the fastest of one thread and all."""
    halves = np.array_split(encodings, os.cpu_count() or 1)
    started = time.perf_counter()
    encodings.max()
    one_thread = time.perf_counter() - started
    started = time.perf_counter()
    list(_pool().map(np.max, halves))
    all_threads = time.perf_counter() - started
    return min(one_thread, all_threads)


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(os.cpu_count() or 1)
    return _POOL


def _latency_ms(
    method: Callable[[npt.NDArray[np.float32]], object],
    probe: npt.NDArray[np.float32],
) -> float:
    started = time.perf_counter()
    answer = method(probe)
    elapsed = time.perf_counter() - started
    # the floor measures its own read, without the call around it
    return 1000.0 * (answer if isinstance(answer, float) else elapsed)


def _best_ms(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(max(rounds, 2)):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000.0 * min(times)


def _batch_and_gemm(batch: Callable[[], object], rounds: int) -> tuple[float, float]:
    """The batch's best time (ms) and the machine's GEMM rate (GFLOP/s), in turns.

    The rate is the best of a square float32 product on all cores, BLAS's own
    threads, the same cores the batch shares among its threads. Taken turn by
    turn with the batch, both meet the same bursts of other work on a shared
    machine. The batch runs three times a turn: the product evicts the gallery
    from the caches, and the later runs find it where the single-probe searches
    did.
    """
    rng = np.random.default_rng(0)
    left = rng.random((GEMM_SIDE, GEMM_SIDE), dtype=np.float32)
    right = rng.random((GEMM_SIDE, GEMM_SIDE), dtype=np.float32)
    batch_times, gemm_times = [], []
    for _ in range(max(rounds, 5)):
        batch_times += [_timed(batch) for _ in range(3)]
        with threadpool_limits(limits=os.cpu_count() or 1, user_api="blas"):
            gemm_times.append(_timed(lambda: left @ right))
        time.sleep(BLAS_IDLE_S)
    return 1000.0 * min(batch_times), 2.0 * GEMM_SIDE**3 / min(gemm_times) / 1e9


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def _p95(values: list[float]) -> float:
    return round(float(np.percentile(values, 95)), 4)


def _ratio(numerator: float, denominator: float | None) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator, 2)
