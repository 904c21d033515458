"""The ``gatesim`` command line: ``serve``, ``demo``, ``migrate`` and the rest."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_PHOTOS = Path("../shared/faces")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gatesim`` command."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    _configure_logging(arguments.verbose)
    return int(arguments.handler(arguments))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatesim", description="Biometric airport boarding-gate simulator."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log decisions")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run an airport day on a folder of photos")
    demo.add_argument(
        "photos",
        nargs="?",
        type=Path,
        default=DEFAULT_PHOTOS,
        help="folder with manifest.csv, or one sub-folder per person",
    )
    demo.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the day")
    demo.set_defaults(handler=_demo)

    bench = commands.add_parser("bench", help="benchmark matching and decision time")
    bench.add_argument(
        "what",
        nargs="?",
        choices=["matching", "build", "stages", "all", "load"],
        default="all",
    )
    bench.add_argument(
        "--sizes",
        default="420,42000,100000,1000000",
        help="comma-separated gallery sizes (10000000 fits in 24 GB)",
    )
    bench.add_argument(
        "--build-sizes",
        default="420,42000,100000",
        help="gallery sizes built from the database",
    )
    bench.add_argument("--probes", type=int, default=50, help="probes per size")
    bench.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    bench.add_argument(
        "--photo",
        type=Path,
        default=DEFAULT_PHOTOS / "scenes/p10_1080p.jpg",
        help="real photo for the stage timings",
    )
    bench.add_argument(
        "--seconds",
        type=float,
        default=15.0,
        help="load: seconds of load at each number of cameras",
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("artifacts/bench"),
        help="folder for the JSON and the PNG chart",
    )
    bench.set_defaults(handler=_bench)

    enroll = commands.add_parser(
        "enroll", help="enrol a folder of photos into the database, resumably"
    )
    enroll.add_argument(
        "photos", type=Path, help="folder with manifest.csv or a sub-folder a person"
    )
    enroll.add_argument("--max", type=int, metavar="N", help="stop after N photos")
    enroll.set_defaults(handler=_enroll)

    evaluate = commands.add_parser(
        "evaluate", help="measure FMR/FNMR and FNIR/FPIR per group on a photo folder"
    )
    _photo_arguments(evaluate)
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="write figures")
    evaluate.add_argument(
        "--det", type=Path, default=Path("artifacts/det.png"), help="DET curve PNG"
    )
    evaluate.set_defaults(handler=_evaluate)

    calibrate = commands.add_parser(
        "calibrate", help="derive threshold and margin for a target false-match rate"
    )
    _photo_arguments(calibrate)
    calibrate.add_argument("--target-fmr", type=float, default=1e-3)
    calibrate.set_defaults(handler=_calibrate)

    purge = commands.add_parser(
        "purge", help="delete what is past its retention (gate copies, records)"
    )
    purge.set_defaults(handler=_purge)

    seal = commands.add_parser(
        "seal", help="seal templates stored in clear by an earlier version"
    )
    seal.set_defaults(handler=_seal)

    migrate = commands.add_parser(
        "migrate", help="create or upgrade the database schema to the latest revision"
    )
    migrate.set_defaults(handler=_migrate)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)
    return parser


def _demo(arguments: argparse.Namespace) -> int:
    from gatesim.demo import print_summary, run_demo, write_json
    from gatesim.settings import get_settings

    if not arguments.photos.is_dir():
        print(f"gatesim: no folder of photos at {arguments.photos}", file=sys.stderr)
        return 2
    report = run_demo(arguments.photos, get_settings(), seed=arguments.seed)
    print_summary(report)
    if arguments.json:
        write_json(report, arguments.json)
        print(f"\nReport written to {arguments.json}")
    return 0


def _bench(arguments: argparse.Namespace) -> int:
    from benchmarks import gallery_build, matching, report, stages

    results: dict[str, object] = {}
    if arguments.what == "load":
        from benchmarks import load

        loaded = load.run(DEFAULT_PHOTOS, seconds=arguments.seconds)
        print(report.load_table(loaded))
        report.draw_load_chart(loaded, arguments.out / "load.png")
        report.write_json(loaded, arguments.out / "load.json")
        print(f"\nWritten to {arguments.out}/")
        return 0
    if arguments.what in ("matching", "all"):
        sizes = tuple(int(size) for size in arguments.sizes.split(","))
        matched = matching.run(sizes, probes=arguments.probes, rounds=arguments.rounds)
        print(report.matching_table(matched))
        report.draw_chart(matched, arguments.out / "matching.png")
        results["matching"] = matched
    if arguments.what in ("build", "all"):
        build_sizes = tuple(int(size) for size in arguments.build_sizes.split(","))
        built = gallery_build.run(build_sizes)
        print()
        print(report.build_table(built))
        results["gallery_build"] = built
    if arguments.what in ("stages", "all"):
        staged = stages.run(arguments.photo)
        print()
        print(report.stages_table(staged))
        results["stages"] = staged
    report.write_json(results, arguments.out / "bench.json")
    print(f"\nWritten to {arguments.out}/")
    return 0


def _enroll(arguments: argparse.Namespace) -> int:
    from gatesim.bulk import enrol_folder, print_summary
    from gatesim.db import safe_url
    from gatesim.runtime import build_runtime
    from gatesim.settings import get_settings

    if not arguments.photos.is_dir():
        print(f"gatesim: no folder of photos at {arguments.photos}", file=sys.stderr)
        return 2
    settings = get_settings()
    runtime = build_runtime(settings)
    print(f"Enrolling into {safe_url(settings.database_url)}")
    try:
        summary = enrol_folder(arguments.photos, runtime, max_photos=arguments.max)
    finally:
        runtime.engine.dispose()
    print_summary(summary)
    return 0


def _photo_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "photos",
        nargs="?",
        type=Path,
        default=DEFAULT_PHOTOS,
        help="folder with manifest.csv (path,person[,group]) or a sub-folder a person",
    )
    command.add_argument(
        "--groups",
        type=Path,
        metavar="CSV",
        help="person,group rows (default: data/shared_faces_groups.csv for "
        "../shared/faces, else the manifest's group column)",
    )


def _encoded(arguments: argparse.Namespace) -> Any:
    from biometrics import FaceEncoder
    from gatesim.evaluation import encode_folder, read_groups
    from gatesim.settings import get_settings

    groups_file = arguments.groups
    shipped = Path(__file__).parents[1] / "data" / "shared_faces_groups.csv"
    if groups_file is None and arguments.photos.resolve().name == "faces":
        groups_file = shipped if shipped.exists() else None
    settings = get_settings()
    encoder = FaceEncoder(settings.encoder_settings())
    print(f"Encoding the photos in {arguments.photos} ...", flush=True)
    return encode_folder(
        arguments.photos,
        encoder,
        groups=read_groups(groups_file),
        limits=settings.image_limits(),
    )


def _evaluate(arguments: argparse.Namespace) -> int:
    from gatesim.charts import draw_det
    from gatesim.evaluation import open_set, verification
    from gatesim.settings import get_settings

    rule = get_settings().decision_rule()
    encoded = _encoded(arguments)
    verified = verification(encoded, rule.match_threshold)
    identified = open_set(encoded, rule)
    print(_evaluation_table(verified, identified, rule.match_threshold, rule.margin))
    if encoded.failures:
        print(f"\nNo usable face in {len(encoded.failures)} photo(s):")
        for path, code in encoded.failures.items():
            print(f"  {path}: {code}")
    draw_det(verified, rule.match_threshold, arguments.det)
    print(f"\nDET curve written to {arguments.det}")
    if arguments.json:
        summary = {
            "threshold": rule.match_threshold,
            "margin": rule.margin,
            "wrong_person_accepts": identified["all"]["wrong_person_accepts"]
            + verified["all"]["false_matches_at_threshold"],
            "fnir": identified["all"]["fnir"],
            "fpir": identified["all"]["fpir"],
            "groups": {
                group: {**identified[group], **_without_lists(verified[group])}
                for group in identified
            },
            "failures": encoded.failures,
        }
        arguments.json.write_text(json.dumps(summary, indent=2))
        print(f"Figures written to {arguments.json}")
    return 0


def _calibrate(arguments: argparse.Namespace) -> int:
    from gatesim.calibration import calibrate

    result = calibrate(_encoded(arguments), arguments.target_fmr)
    print(f"\nTarget false-match rate: {arguments.target_fmr:g}")
    for group, threshold in result.group_thresholds.items():
        note = (
            " (extrapolated: too few impostor pairs)"
            if group in result.extrapolated
            else ""
        )
        print(f"  {group:12} threshold {threshold:.3f}{note}")
    print(
        "  open-set wrong-person accepts at the margin below: "
        f"{result.wrong_person_accepts}"
    )
    print("\nSet these for the gates:")
    print(f"  GATESIM_MATCH_THRESHOLD={result.threshold:.3f}")
    print(f"  GATESIM_MATCH_MARGIN={result.margin:.2f}")
    return 0


def _evaluation_table(
    verified: dict[str, Any],
    identified: dict[str, Any],
    threshold: float,
    margin: float,
) -> str:
    lines = [
        f"Gate rule: threshold {threshold}, margin {margin}",
        "",
        "| group | genuine pairs | impostor pairs | closest impostor | "
        "impostors < 0.6 | FMR | FNMR | mated / non-mated searches | FNIR | FPIR | "
        "wrong-person accepts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in identified:
        v, i = verified[group], identified[group]
        lines.append(
            f"| {group} | {v['genuine_pairs']} | {v['impostor_pairs']} | "
            f"{_fmt(v['impostor_min'])} | {_pct(v['impostors_under_0_6'])} | "
            f"{_pct(v['fmr_at_threshold'])} | {_pct(v['fnmr_at_threshold'])} | "
            f"{i['mated_searches']} / {i['non_mated_searches']} | "
            f"{_pct(i['fnir'])} | {_pct(i['fpir'])} | "
            f"{i['wrong_person_accepts'] + v['false_matches_at_threshold']} |"
        )
    return "\n".join(lines)


def _without_lists(rates: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rates.items() if not isinstance(value, list)}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _serve(arguments: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from gatesim.settings import get_settings

    try:  # in the parent, so a bad setting stops the start, not each worker
        get_settings()
    except ValidationError as error:
        print(f"gatesim: the settings are refused:\n{error}", file=sys.stderr)
        return STARTUP_FAILURE
    app = "gatesim.app:create_app"
    if arguments.workers == 1:
        uvicorn.run(app, factory=True, host=arguments.host, port=arguments.port)
        return 0
    config = uvicorn.Config(
        app,
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
    )
    # uvicorn.run exits 0 when a worker fails to start; a deployment (or a
    # container's restart policy) must see the failure.
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def _purge(_arguments: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gate_service.retention import run_purge
    from gatesim.db import create_schema, make_engine, session_factory
    from gatesim.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database_url)
    create_schema(engine)
    report = run_purge(session_factory(engine), settings.retention(), datetime.now(UTC))
    engine.dispose()
    print(
        f"purged: {report.gate_copies} gate template copies, {report.templates} "
        f"templates, {report.reviews} held enrolments, {report.decisions} "
        "decision records"
    )
    return 0


def _seal(_arguments: argparse.Namespace) -> int:
    from gatesim.crypto import load_cipher
    from gatesim.db import create_schema, make_engine, session_factory, transaction
    from gatesim.sealing import seal_clear_rows
    from gatesim.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with transaction(session_factory(engine)) as session:
        sealed = seal_clear_rows(session, load_cipher(settings))
    engine.dispose()
    print(
        f"sealed: {sealed.templates} templates, {sealed.reviews} held enrolments; "
        f"copied: {sealed.gate_copies} gate template copies"
    )
    return 0


def _migrate(_arguments: argparse.Namespace) -> int:
    from gatesim.db import create_schema, make_engine, safe_url
    from gatesim.schema import SchemaMismatch, current_revision
    from gatesim.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        create_schema(engine)
        revision = current_revision(engine)
    except SchemaMismatch as error:
        print(f"gatesim: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"{safe_url(settings.database_url)}: schema at revision {revision}")
    return 0


def _configure_logging(verbose: bool) -> None:
    from gatesim.logmask import configure_logging

    level = "INFO" if verbose else os.environ.get("GATESIM_LOG_LEVEL", "WARNING")
    os.environ["GATESIM_LOG_LEVEL"] = level  # server workers read it
    configure_logging(level)


if __name__ == "__main__":
    sys.exit(main())
