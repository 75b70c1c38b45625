"""Command line: ``siamtrack track | train | eval | report | bench | export | datasets``.

Each sub-command is one ``_add_<name>`` function (its arguments) and one ``_run_<name>`` function (what it
does, by calling the library); heavy imports happen inside the ``_run_`` functions so ``--help`` is fast.
"""
from __future__ import annotations

import argparse
import sys


def _add_datasets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "summary"],
                        help="list: the known dataset readers; summary: one line per sequence of NAME at ROOT")
    parser.add_argument("name", nargs="?", help="reader name (see 'datasets list'), for summary")
    parser.add_argument("root", nargs="?", help="dataset root folder, for summary")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="reader option, e.g. --option split=dev-eval (repeatable)")


def _run_datasets(args: argparse.Namespace) -> int:
    from siamtrack import data

    if args.action == "list":
        for name in sorted(data.READERS):
            print(name)
        return 0
    if not args.name or not args.root:
        print("datasets summary needs NAME and ROOT", file=sys.stderr)
        return 2
    options = {}
    for item in args.option:
        key, separator, value = item.partition("=")
        if not separator:
            print(f"--option {item!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        options[key] = {"true": True, "false": False}.get(value.lower(), value)
    try:
        sequences = data.load_dataset(args.name, args.root, **options)
    except data.DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for sequence in sequences:
        box = ",".join(f"{value:g}" for value in sequence.init_box)
        print(f"{sequence.name}\t{sequence.dataset}\t{len(sequence)} frames from {sequence.start_frame}\t"
              f"{int(sequence.absent.sum())} absent\tfirst box {box}")
    print(f"{len(sequences)} sequences, {sum(len(s) for s in sequences)} frames")
    return 0


def _add_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML training config (see configs/)")
    parser.add_argument("--run-dir", required=True, help="folder for config.yaml, checkpoint.pth, logs, model.pth")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config value (YAML syntax), e.g. --set train.batch_size=16; repeatable")
    parser.add_argument("--stop-after", type=int, default=None, metavar="N",
                        help="stop after N iterations without exporting (timing runs)")
    parser.add_argument("--curate-only", action="store_true",
                        help="only curate the training data (print its folder) and exit")


def _run_train(args: argparse.Namespace) -> int:
    from siamtrack.config import ConfigError, load_config
    from siamtrack.training.loop import prepare_curated, train

    try:
        config = load_config(args.config, args.overrides)
        if args.curate_only:
            print(prepare_curated(config, config.train.progress))
            return 0
        model_path = train(config, args.run_dir, resume=args.resume, stop_after=args.stop_after)
    except (ConfigError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if model_path is not None:
        print(f"trained weights: {model_path}")
    return 0


COMMANDS = {
    # name: (help, add-arguments function, run function)
    "train": ("train a model offline from a YAML config", _add_train, _run_train),
    "datasets": ("list dataset readers or summarise a dataset", _add_datasets, _run_datasets),
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
