"""The ``gatesim`` command line: ``serve`` and ``demo``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

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
        choices=["matching", "build", "stages", "all"],
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
        "--out",
        type=Path,
        default=Path("artifacts/bench"),
        help="folder for the JSON and the PNG chart",
    )
    bench.set_defaults(handler=_bench)

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


def _serve(arguments: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "gatesim.app:create_app",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
    )
    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # face_recognition_models imports pkg_resources, which warns on every start.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    os.environ.setdefault(
        "PYTHONWARNINGS", "ignore::UserWarning:face_recognition_models"
    )


if __name__ == "__main__":
    sys.exit(main())
