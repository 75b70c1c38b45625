"""Command line: ``siamtrack track | train | eval | report | bench | export | datasets``.

Each sub-command is one ``_add_<name>`` function (its arguments) and one ``_run_<name>`` function (what it
does, by calling the library); heavy imports happen inside the ``_run_`` functions so ``--help`` is fast.
"""
from __future__ import annotations

import argparse
import sys


def _add_datasets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list"], help="list the known dataset readers")


def _run_datasets(args: argparse.Namespace) -> int:
    from siamtrack import data

    for name in sorted(getattr(data, "READERS", {})):
        print(name)
    return 0


COMMANDS = {
    # name: (help, add-arguments function, run function)
    "datasets": ("list dataset readers", _add_datasets, _run_datasets),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siamtrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
