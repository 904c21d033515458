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
