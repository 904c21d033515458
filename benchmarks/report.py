"""Tables, JSON and a chart of the benchmark results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatesim.charts import finish_figure, new_figure

MATCH_COLUMNS = [
    ("size", "gallery", "{:,}"),
    ("build_s", "build s", "{:.2f}"),
    ("naive_ms", "naive ms", "{:.2f}"),
    ("faiss_ms", "faiss ms", "{:.3f}"),
    ("ours_ms", "ours ms", "{:.3f}"),
    ("ours_p95_ms", "ours p95", "{:.3f}"),
    ("floor_ms", "floor ms", "{:.3f}"),
    ("ours_over_faiss", "ours/faiss", "{:.2f}"),
    ("ours_over_floor", "ours/floor", "{:.2f}"),
    ("naive_over_ours", "naive/ours", "{:.1f}"),
    ("batch_ours_ms", "batch64 ms", "{:.1f}"),
    ("batch_faiss_ms", "faiss b64 ms", "{:.1f}"),
    ("batch_fraction_of_gemm", "batch/GEMM", "{:.2f}"),
]


def matching_table(result: dict[str, Any]) -> str:
    """A Markdown table of the matching benchmark."""
    header = "| " + " | ".join(title for _, title, _ in MATCH_COLUMNS) + " |"
    rule = "|" + "---:|" * len(MATCH_COLUMNS)
    rows = [
        "| "
        + " | ".join(_cell(row.get(key), form) for key, _, form in MATCH_COLUMNS)
        + " |"
        for row in result["sizes"]
    ]
    machine = result["machine"]
    footer = (
        f"\n{machine['cpu']}, {machine['cores']} cores, numpy {machine['numpy']}; "
        f"float32 GEMM {result['gemm_gflops']} GFLOP/s on all cores."
    )
    return "\n".join([header, rule, *rows]) + "\n" + footer


def stages_table(result: dict[str, Any]) -> str:
    """A Markdown table of the decision time per stage."""
    inputs = list(result["stages_ms"])
    stages = list(next(iter(result["stages_ms"].values())))
    header = "| stage | " + " | ".join(f"{name} ms" for name in inputs) + " |"
    rule = "|---|" + "---:|" * len(inputs)
    rows = [
        f"| {stage} | "
        + " | ".join(f"{result['stages_ms'][name][stage]:.2f}" for name in inputs)
        + " |"
        for stage in stages
    ]
    return "\n".join([header, rule, *rows])


def build_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of gallery build times from the database."""
    lines = ["| templates | build from database ms | templates/s |", "|---:|---:|---:|"]
    lines += [
        f"| {row['size']:,} | {row['build_ms']:.1f} | {row['templates_per_s']:,} |"
        for row in rows
    ]
    return "\n".join(lines)


def load_table(result: dict[str, Any]) -> str:
    """A Markdown table of the load benchmark, and its summary in airport terms."""
    lines = [
        "| server | cameras | decisions/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ("ours", "naive"):
        for name, run in result[kind].items():
            lines += [
                f"| {kind}, {name} | {s['concurrency']} | {s['decisions_per_s']:.2f} "
                f"| {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['errors']} |"
                for s in run["steps"]
            ]
    summary = result["summary"]
    memory = [
        f"{name}: {run['memory_mb_before']} -> {run['memory_mb_after']} MB"
        for name, run in result["ours"].items()
    ]
    lines += [
        "",
        f"- one gate (one camera): {summary['one_gate_passengers_per_minute']} "
        f"passengers/min; airlines publish about "
        f"{summary['airline_published_per_gate_per_minute']:.0f}/min per gate",
        f"- one machine: {summary['machine_passengers_per_minute']} passengers/min",
        f"- ours / naive throughput: {summary['ours_over_naive_throughput']}x",
        f"- latency starts to climb at (cameras): {summary['knee_concurrency']}",
        f"- errors: {summary['errors']}; server memory (RSS) {'; '.join(memory)}",
        "- memory growth over a second run of the heaviest load (MB): "
        f"{summary['memory_growth_mb_under_heaviest_load']}",
    ]
    return "\n".join(lines)


def draw_load_chart(result: dict[str, Any], path: Path) -> None:
    """Throughput and p95 latency against concurrent cameras, as a PNG."""
    figure, axes = new_figure(7, 4.5)
    latency_axes = axes.twinx()
    for kind in ("ours", "naive"):
        for name, run in result[kind].items():
            first_runs = {step["concurrency"]: step for step in reversed(run["steps"])}
            steps = sorted(first_runs.values(), key=lambda step: step["concurrency"])
            cameras = [step["concurrency"] for step in steps]
            label = f"{kind}, {name}"
            line = axes.plot(
                cameras,
                [step["decisions_per_s"] for step in steps],
                marker="o",
                label=f"{label}: decisions/s (solid), p95 ms (dashed)",
            )[0]
            latency_axes.plot(
                cameras,
                [step["p95_ms"] for step in steps],
                marker="x",
                linestyle="--",
                color=line.get_color(),
            )
    axes.set_xlabel("concurrent cameras")
    axes.set_ylabel("decisions per second")
    latency_axes.set_ylabel("p95 latency, ms")
    latency_axes.set_yscale("log")
    axes.set_title("Gate camera API under load (127.0.0.1)")
    finish_figure(figure, axes, path)


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the results as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


def draw_chart(result: dict[str, Any], path: Path) -> None:
    """Latency per gallery size for each method, log-log, as a PNG."""
    rows = result["sizes"]
    sizes = [row["size"] for row in rows]
    figure, axes = new_figure(7, 4.5)
    for key, label in [
        ("naive_ms", "face_recognition.face_distance"),
        ("faiss_ms", "faiss IndexFlatL2"),
        ("ours_ms", "gatesim core"),
        ("floor_ms", "memory-bandwidth floor"),
    ]:
        values = [row.get(key) for row in rows]
        if all(value is not None for value in values):
            axes.plot(sizes, values, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("templates in the gallery")
    axes.set_ylabel("single-probe search, median ms")
    axes.set_title("1:N search latency (lower is better)")
    finish_figure(figure, axes, path)


def _cell(value: Any, form: str) -> str:
    return "n/a" if value is None else form.format(value)
