"""Command line: ``siamtrack demo | track | trackers | eval | report | bench | train | datasets | serve``.

Each sub-command is one ``_add_<name>`` function (its arguments) and one ``_run_<name>`` function (what it
does, by calling the library); heavy imports happen inside the ``_run_`` functions so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(ValueError):
    """A command-line argument that cannot work (exit status 2, as argparse's own errors)."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--workers 0``, ``--max-frames 0`` are usage errors, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1 or more), got {value}")
    return value


def _deprecated(command: str, old: str, new: str) -> None:
    """One line on stderr for an old spelling that still works in this release (removed in the next)."""
    print(
        f"siamtrack {command}: warning: {old} is deprecated and will be removed after siamtrack 0.1; use {new}",
        file=sys.stderr,
    )


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (the one-line summary at the end is still printed)"
    )


def _dataset_options(dataset: str, items: list[str]) -> dict:
    """``--option KEY=VALUE`` items -> reader keyword arguments; a :class:`UsageError` for an item that is not
    KEY=VALUE or a key that the reader of ``dataset`` does not take (instead of a TypeError traceback)."""
    import inspect

    from siamtrack import data

    from siamtrack.keyvalue import KeyValueError, parse_items

    try:  # the one KEY=VALUE grammar of --option, --param and --set
        options = parse_items(items, "--option")
    except KeyValueError as error:
        raise UsageError(str(error)) from None
    reader = data.READERS.get(dataset)
    if reader is None or not options:
        return options
    try:
        parameters = inspect.signature(reader).parameters
    except (TypeError, ValueError):
        return options
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return options
    fixed = getattr(reader, "keywords", None) or {}  # a functools.partial's own settings are not options
    known = [
        name
        for name, p in list(parameters.items())[1:]
        if name not in fixed and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    unknown = [key for key in options if key not in known]
    if unknown:
        raise UsageError(
            f"--option {unknown[0]}: dataset {dataset!r} takes no option {unknown[0]!r}; its options: "
            f"{', '.join(known) or 'none'}"
        )
    return options


def _add_datasets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["list", "summary"],
        help="list: the known dataset readers; summary: one line per sequence of --dataset at --root",
    )
    parser.add_argument("--dataset", default=None, help="reader name (see 'datasets list'), for summary")
    parser.add_argument("--root", default=None, help="dataset root folder, for summary")
    parser.add_argument("name", nargs="?", help=argparse.SUPPRESS)  # deprecated: summary NAME ROOT
    parser.add_argument("root_positional", nargs="?", metavar="root", help=argparse.SUPPRESS)
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. --option split=dev-eval (repeatable)",
    )


def _run_datasets(args: argparse.Namespace) -> int:
    from siamtrack import data

    if args.action == "list":
        for name in sorted(data.READERS):
            print(name)
        return 0
    if args.name is not None:  # the old positional spelling: summary NAME ROOT
        if args.dataset is not None or args.root is not None:
            print(
                "error: datasets summary takes --dataset NAME --root DIR (not positional NAME ROOT as well)",
                file=sys.stderr,
            )
            return 2
        _deprecated("datasets", "'datasets summary NAME ROOT'", "'datasets summary --dataset NAME --root ROOT'")
        args.dataset, args.root = args.name, args.root_positional
    if not args.dataset or not args.root:
        print("error: datasets summary needs --dataset NAME and --root DIR", file=sys.stderr)
        return 2
    try:
        options = _dataset_options(args.dataset, args.option)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        sequences = data.load_dataset(args.dataset, args.root, **options)
    except data.DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for sequence in sequences:
        box = ",".join(f"{value:g}" for value in sequence.init_box)
        print(
            f"{sequence.name}\t{sequence.dataset}\t{len(sequence)} frames from {sequence.start_frame}\t"
            f"{int(sequence.absent.sum())} absent\tfirst box {box}"
        )
    print(f"{len(sequences)} sequences, {sum(len(s) for s in sequences)} frames")
    return 0


def _add_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        required=True,
        help="YAML training config: a path, or bundled/NAME for one shipped with siamtrack "
        "(src/siamtrack/configs/NAME.yaml, e.g. bundled/siamfc, bundled/weights/siamfc)",
    )
    parser.add_argument("--run-dir", required=True, help="folder for config.yaml, checkpoint.pth, logs, model.pth")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (YAML syntax), e.g. --set train.batch_size=16; repeatable",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="N",
        help="stop after N iterations without exporting (timing runs)",
    )
    parser.add_argument(
        "--curate-only", action="store_true", help="only curate the training data (print its folder) and exit"
    )
    _add_quiet(parser)  # = --set train.progress=false


def _run_train(args: argparse.Namespace) -> int:
    from siamtrack.training.config import ConfigError, load_config
    from siamtrack.training.loop import prepare_curated, train

    from pathlib import Path

    run_dir = Path(args.run_dir)
    if args.resume and not args.curate_only and not (run_dir / "checkpoint.pth").exists():
        if run_dir.is_dir() and any(run_dir.iterdir()):
            print(
                f"error: --resume: {run_dir} holds no checkpoint.pth, so there is nothing to resume (a run killed "
                "before its first checkpoint, or the wrong folder): drop --resume to start it afresh, or check "
                "--run-dir",
                file=sys.stderr,
            )
            return 2
        print(f"note: --resume: {run_dir} is new (no checkpoint.pth): starting a fresh run", file=sys.stderr)
    import time

    from siamtrack.progress import summary_line

    def iterations_logged() -> int:  # log.csv: a header and one row per iteration, appended by every (resumed) run
        try:
            with open(run_dir / "log.csv") as handle:
                return max(sum(1 for _ in handle) - 1, 0)
        except OSError:
            return 0

    try:
        config = load_config(args.config, args.overrides + (["train.progress=false"] if args.quiet else []))
        if args.curate_only:
            print(prepare_curated(config, config.train.progress))
            return 0
        logged, start = iterations_logged(), time.perf_counter()
        model_path = train(config, args.run_dir, resume=args.resume, stop_after=args.stop_after)
    except (ConfigError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary_line("train", time.perf_counter() - start, iterations_logged() - logged, "iterations", "it/s"))
    if model_path is not None:
        print(f"trained weights: {model_path}")
    return 0


def _add_track(parser: argparse.ArgumentParser) -> None:
    from siamtrack.trackers import DEFAULT_TRACKER

    parser.add_argument(
        "--tracker",
        default=None,
        help=f"registered tracker name (siamtrack.trackers.TRACKERS; default: the --preset's tracker, "
        f"else {DEFAULT_TRACKER})",
    )
    parser.add_argument(
        "--weights", default=None, help="weights file, or 'random' for an untrained network (default: bundled weights)"
    )
    _add_preset(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="video file (MP4, AVI, ...)")
    source.add_argument("--frames", help="folder of image files, tracked in natural name order (2.jpg before 10.jpg)")
    source.add_argument("--camera", type=int, metavar="N", help="OpenCV camera index")
    parser.add_argument("--box", required=True, help="target in the first frame: x,y,w,h (0-based pixels)")
    parser.add_argument("--out", required=True, help="output folder: boxes.txt and track.mp4")
    parser.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="stop after N frames")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tracker hyper-parameter override, e.g. --param window_influence=0.2 (repeatable; over the --preset's)",
    )
    _add_quiet(parser)


def _add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        default=None,
        metavar="NAME|PATH",
        help="tracker-parameter preset: bundled/presets/NAME (shipped with siamtrack, e.g. "
        "bundled/presets/dslt) or a YAML file (tracker, params); its tracker is the default "
        "--tracker and --param items go over its params",
    )


def _tracker_and_params(args: argparse.Namespace, default_tracker: str | None):
    """``(tracker name, resolved hyper-parameters, preset or None)`` of ``--tracker``, ``--preset`` and
    ``--param`` (:func:`siamtrack.presets.resolve_params`: the preset's params, then ``--param`` over them); a
    :class:`UsageError` for a preset or an item that cannot work."""
    from siamtrack.presets import PresetError, load_preset, resolve_params
    from siamtrack.trackers import parse_hyperparameters

    try:
        preset = load_preset(args.preset) if args.preset else None
        overrides = parse_hyperparameters(args.param)
    except (PresetError, ValueError) as error:
        raise UsageError(str(error)) from None
    tracker = args.tracker or (preset.tracker if preset is not None else default_tracker)
    if tracker is None:
        raise UsageError("name the tracker: --tracker NAME or --preset NAME|PATH")
    return tracker, resolve_params(preset, overrides), preset


def _run_track(args: argparse.Namespace) -> int:
    import time

    from siamtrack.data.sequence import VideoFile
    from siamtrack.imaging import FrameReadError
    from siamtrack.integrations.video import TrackingStopped, camera_frames, folder_frames, parse_box, track_to_folder
    from siamtrack.progress import counted, progress_bar, summary_line
    from siamtrack.trackers import DEFAULT_TRACKER, build_tracker

    try:
        box = parse_box(args.box)
        name, params, _ = _tracker_and_params(args, DEFAULT_TRACKER)
        tracker = build_tracker(name, weights=args.weights, **params)
        fps = 30.0
        if args.video:
            frames = VideoFile(args.video)
            fps = frames.fps or fps
        elif args.frames:
            frames = folder_frames(args.frames)
        else:
            frames = camera_frames(args.camera, args.max_frames)
        total = len(frames) if hasattr(frames, "__len__") else None
        if total is not None and args.max_frames is not None:
            total = min(total, args.max_frames)
        bar = progress_bar(total=total, desc="track", unit="frame", disable=args.quiet)
        start = time.perf_counter()
        try:
            boxes = track_to_folder(
                tracker, counted(frames, bar, args.max_frames), box, args.out, fps=fps, max_frames=args.max_frames
            )
        finally:
            bar.close()
        seconds = time.perf_counter() - start
    except TrackingStopped as error:  # a frame or the tracker failed midway: the boxes so far are saved
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (KeyError, ImportError, TypeError, ValueError, OSError, FrameReadError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    print(summary_line("track", seconds, len(boxes)))
    print(f"{len(boxes)} frames tracked: {args.out}/boxes.txt, {args.out}/track.mp4")
    return 0


def _add_demo(parser: argparse.ArgumentParser) -> None:
    from siamtrack.trackers import DEFAULT_TRACKER

    parser.add_argument(
        "--tracker", default=DEFAULT_TRACKER, help=f"registered tracker name (default: {DEFAULT_TRACKER})"
    )
    parser.add_argument("--weights", default=None, help="weights file, or 'random' (default: bundled weights)")
    parser.add_argument("--out", default="out/demo", help="output folder: boxes.txt and track.mp4")
    _add_quiet(parser)


def _run_demo(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from siamtrack.data.sequence import VideoFile
    from siamtrack.demo import DEMO_GROUND_TRUTH, DEMO_VIDEO
    from siamtrack.evaluation import frame_scores, scores_from_frames
    from siamtrack.integrations.video import track_to_folder
    from siamtrack.progress import counted, progress_bar, summary_line
    from siamtrack.trackers import build_tracker

    try:
        tracker = build_tracker(args.tracker, weights=args.weights)
    except (KeyError, ImportError, TypeError, ValueError, OSError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    frames = VideoFile(str(DEMO_VIDEO))
    ground_truth = np.loadtxt(DEMO_GROUND_TRUTH, delimiter=",", ndmin=2)
    bar = progress_bar(total=len(frames), desc="demo", unit="frame", disable=args.quiet)
    start = time.perf_counter()
    try:
        boxes = track_to_folder(tracker, counted(frames, bar), ground_truth[0], args.out, fps=frames.fps or 25.0)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    scores = scores_from_frames(frame_scores(boxes, ground_truth, "got10k"), "got10k")
    print(
        f"{args.tracker}: {len(boxes)} frames of the bundled demo clip in {seconds:.1f} s "
        f"(tracking + video writing); against its exact ground truth: success AUC {scores.auc:.3f}, "
        f"precision@20px {scores.precision:.3f}"
    )
    print(f"wrote {args.out}/boxes.txt and {args.out}/track.mp4")
    print(summary_line("demo", seconds, len(boxes)))
    return 0


def _add_bench(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trackers",
        default="tadt-lite,siamfc-lite,dcfnet,siamfc,cfnet-conv2",
        help="comma-separated registered trackers (OpenCV's CSRT and KCF are added)",
    )
    parser.add_argument(
        "--shared", default=None, help="the shared data folder holding data/index.json (default: $SIAMTRACK_SHARED)"
    )
    parser.add_argument("--split", default="dev-eval", help="split of index.json to run on")
    parser.add_argument(
        "--sequences",
        default=None,
        metavar="NAMES",
        help="comma-separated sequence names of the split, as in eval (default: the first --max-sequences)",
    )
    parser.add_argument(
        "--max-sequences",
        type=positive_int,
        default=None,
        metavar="N",
        help="the first N sequences of the split (default 3)",
    )
    parser.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="frames per sequence (default 60)"
    )
    # deprecated: bench --frames N (a count; --frames is a folder in track)
    parser.add_argument("--frames", dest="frames_count", type=positive_int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=positive_int, default=3, metavar="N", help="runs per sequence (median reported)")
    parser.add_argument("--no-opencv", action="store_true", help="leave OpenCV's trackers out")


def _bench_sequences(args: argparse.Namespace, sequences: list) -> list:
    """The sequences ``bench`` times, after the deprecated count spellings (``--sequences N``, ``--frames N``) are
    turned into ``--max-sequences`` / ``--max-frames`` with a warning; sets ``args.max_frames``."""
    if args.frames_count is not None:
        if args.max_frames is not None:
            raise UsageError("bench: give --max-frames N only (--frames N is its deprecated spelling)")
        _deprecated("bench", f"--frames {args.frames_count} (a count)", f"--max-frames {args.frames_count}")
        args.max_frames = args.frames_count
    args.max_frames = args.max_frames or 60
    names = args.sequences
    if names is not None and names.strip().isdigit():  # the old meaning: a count
        if args.max_sequences is not None:
            raise UsageError("bench: give --max-sequences N only (--sequences N is its deprecated spelling)")
        if int(names) < 1:
            raise UsageError(f"bench: --sequences {names}: a count must be 1 or more (use --max-sequences N)")
        _deprecated("bench", f"--sequences {names} (a count)", f"--max-sequences {names}")
        args.max_sequences, names = int(names), None
    if names is not None:
        wanted = [name for name in names.split(",") if name]
        known = {s.name: s for s in sequences}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise UsageError(f"unknown sequence(s) {missing} in split {args.split!r}")
        sequences = [known[name] for name in wanted]
    return sequences[: args.max_sequences or (None if names is not None else 3)]


def _run_bench(args: argparse.Namespace) -> int:
    import os

    import numpy as np
    import torch

    from siamtrack.data import shared_split
    from siamtrack.integrations.video import format_table, time_tracker
    from siamtrack.trackers import RANDOM_WEIGHTS, build_tracker
    from siamtrack.trackers.opencv import CONTRIB_HINT, opencv_tracker_factories

    shared = args.shared or os.environ.get("SIAMTRACK_SHARED")
    if not shared:
        print("error: pass --shared DIR (the folder holding data/index.json) or set SIAMTRACK_SHARED", file=sys.stderr)
        return 2
    try:
        sequences = _bench_sequences(args, shared_split(shared, args.split))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    builders = {
        name: (lambda name=name: build_tracker(name, weights=RANDOM_WEIGHTS))
        for name in args.trackers.split(",")
        if name
    }
    if not args.no_opencv:
        for name, factory in opencv_tracker_factories().items():
            builders[name] = (lambda name=name: build_tracker(name, weights=RANDOM_WEIGHTS)) if factory else None
    rows = []
    for name, build in builders.items():
        if build is None:
            rows.append([name] + ["-"] * len(sequences) + ["-", f"unavailable: {CONTRIB_HINT}"])
            continue
        try:
            tracker = build()
            rates = [time_tracker(tracker, sequence, args.max_frames, args.runs) for sequence in sequences]
        except Exception as error:  # one broken tracker must not hide the others' numbers
            rows.append([name] + ["-"] * len(sequences) + ["-", f"error: {type(error).__name__}: {error}"])
            continue
        rows.append([name] + [f"{r:.1f}" for r in rates] + [f"{np.median(rates):.1f}", ""])
    header = ["tracker"] + [s.name for s in sequences] + ["median fps", "note"]
    print(
        f"fps (median of {args.runs} runs, {args.max_frames} frames, init and decoding excluded; random weights; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    print(format_table(rows, header))
    return 0


def _add_sequence_source(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``eval`` and ``report``: which sequences (and their ground truth)."""
    parser.add_argument(
        "--dataset", required=True, help="dataset reader name (see 'datasets list'), e.g. otb2015, vot, shared"
    )
    parser.add_argument("--root", required=True, help="dataset root folder (for 'shared': the shared folder)")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. --option split=dev-eval (repeatable)",
    )
    parser.add_argument("--sequences", default=None, help="comma-separated sequence names (default: all)")
    parser.add_argument(
        "--protocol",
        default="otb",
        help="metric preset: otb, got10k, got10k_benchmark, pysot, lasot, vot, vot2015..vot2018",
    )
    parser.add_argument(
        "--experiment",
        action="append",
        default=None,
        choices=["ope", "tre", "sre", "baseline", "realtime"],
        help="experiment(s) (repeatable; default ope)",
    )
    parser.add_argument("--results", required=True, help="results root: <results>/<tracker>/...")


def _eval_sequences(args: argparse.Namespace):
    from siamtrack import data

    sequences = data.load_dataset(args.dataset, args.root, **_dataset_options(args.dataset, args.option))
    if args.sequences:
        wanted = [name for name in args.sequences.split(",") if name]
        known = {s.name: s for s in sequences}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise ValueError(f"unknown sequence(s) {missing} in {args.dataset} at {args.root}")
        sequences = [known[name] for name in wanted]
    return sequences


def _add_eval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracker",
        default=None,
        help="registered tracker name (siamtrack.trackers.TRACKERS; default: the --preset's tracker)",
    )
    parser.add_argument("--weights", default=None, help="weights file, or 'random' (default: bundled weights)")
    _add_preset(parser)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tracker hyper-parameter override (repeatable; over the --preset's)",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="result folder name under --results (default: the preset's "
        "name, else the tracker name); its run.json records the "
        "tracker, preset, resolved parameters and weights that "
        "produced it (siamtrack.presets.tracker_from_run rebuilds "
        "the tracker from it)",
    )
    _add_sequence_source(parser)
    parser.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1: in this process)")
    parser.add_argument("--repetitions", type=positive_int, default=1, help="runs per sequence of baseline/realtime")
    parser.add_argument("--fps", type=float, default=20.0, help="realtime: frames per second delivered (20)")
    parser.add_argument(
        "--frame-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="realtime: simulate every tracker call as taking SECONDS (default: measured)",
    )
    parser.add_argument("--grace", type=int, default=0, help="realtime: slow calls forgiven after each init")
    parser.add_argument("--report", default=None, metavar="DIR", help="also write this tracker's report to DIR")
    _add_quiet(parser)


def _result_name(text: str) -> str:
    """``--name``: one folder name under ``--results``, never a path (``../x``, ``a/b``, ``..``)."""
    import os

    separators = [sep for sep in (os.sep, os.altsep, "/") if sep]
    if not text or text in (".", "..") or any(sep in text for sep in separators) or "\0" in text:
        raise UsageError(f"--name {text!r} must be a plain folder name (no path separator, not '.' or '..')")
    return text


def _weights_file(tracker: str, weights):
    """The weights file that ``build_tracker(tracker, weights)`` reads (``None``: random or unknown)."""
    if weights is not None:
        return None if weights == "random" else weights
    try:
        from siamtrack.trackers import default_weights

        return default_weights(tracker)
    except Exception:  # noqa: BLE001 - an unknown tracker is reported when it is built
        return None


def _run_eval(args: argparse.Namespace) -> int:
    from siamtrack.evaluation import RealtimeClock, TrackerFactory, build_report, get_protocol, write_report
    from siamtrack.evaluation.runner import (
        ResultsMismatch,
        claim_results_folder,
        run_metadata,
        run_one_pass,
        run_supervised,
    )

    try:  # the arguments: a mistake here is a usage error (2); reading the dataset can fail at run time (1)
        tracker, hyperparameters, preset = _tracker_and_params(args, None)
        name = _result_name(args.name or (preset.name if preset is not None else tracker))
        try:
            protocol = get_protocol(args.protocol)
        except ValueError as error:
            raise UsageError(str(error)) from None
        sequences = _eval_sequences(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        metadata = run_metadata(
            tracker,
            args.weights,
            hyperparameters,
            _weights_file(tracker, args.weights),
            preset=None if preset is None else preset.source,
        )
        for warning in claim_results_folder(args.results, name, metadata):
            print(warning, file=sys.stderr)
    except ResultsMismatch as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    import time

    from siamtrack.progress import summary_line

    announce = lambda message: print(message, file=sys.stderr)  # noqa: E731
    counts, start = {}, time.perf_counter()
    try:
        factory = TrackerFactory(
            "siamtrack.trackers:build_tracker", {"name": tracker, "weights": args.weights, **hyperparameters}
        )
        experiments = args.experiment or ["ope"]
        for experiment in experiments:
            if experiment in ("ope", "tre", "sre"):
                run_one_pass(
                    factory,
                    sequences,
                    args.results,
                    name,
                    experiment,
                    args.workers,
                    not args.quiet,
                    announce=announce,
                    counts=counts,
                )
            else:
                clock = RealtimeClock(args.fps, args.frame_time, args.grace) if experiment == "realtime" else None
                run_supervised(
                    factory,
                    sequences,
                    args.results,
                    name,
                    protocol,
                    experiment,
                    args.repetitions,
                    clock,
                    args.workers,
                    not args.quiet,
                    announce=announce,
                    counts=counts,
                )
        seconds = time.perf_counter() - start
        report = build_report(args.results, [name], sequences, protocol, tuple(experiments), dataset=args.dataset)
        if args.report:
            write_report(report, args.report)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 1
    for experiment, results in report["results"].items():
        overall = results[name]["overall"]
        one_pass = experiment in ("ope", "tre", "sre")
        keys = ("auc", "precision", "ao") if one_pass else ("eao", "accuracy", "total_failures")
        scores = ", ".join(f"{key} {overall[key]:.3f}" for key in keys)
        print(f"{name} {experiment}: {scores}, fps {overall['fps']:.1f}")
    print(summary_line("eval", seconds, counts.get("frames", 0), sequences=len(sequences)))
    return 0


def _add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trackers", required=True, help="comma-separated result folder names under --results")
    _add_sequence_source(parser)
    parser.add_argument("--out", required=True, help="output folder: report.json, report.md, PNG plots")


def _run_report(args: argparse.Namespace) -> int:
    from siamtrack.evaluation import build_report, get_protocol, write_report

    try:
        trackers = [name for name in args.trackers.split(",") if name]
        report = build_report(
            args.results,
            trackers,
            _eval_sequences(args),
            get_protocol(args.protocol),
            tuple(args.experiment or ["ope"]),
            dataset=args.dataset,
        )
        files = write_report(report, args.out)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    print(f"{len(files)} files written to {args.out}")
    return 0


def _add_trackers(parser: argparse.ArgumentParser) -> None:
    pass


def _run_trackers(args: argparse.Namespace) -> int:
    from siamtrack.integrations.video import format_table
    from siamtrack.trackers import DEFAULT_TRACKER, available_trackers
    from siamtrack.trackers.catalogue import RESULTS, entry

    rows = []
    for name in available_trackers():
        item = entry(name)
        rows.append(
            [
                name + (" (default)" if name == DEFAULT_TRACKER else ""),
                item.paper,
                item.weights_text(),
                "-" if item.auc is None else f"{item.auc:.3f}",
                "-" if item.fps is None else f"{item.fps:g}",
            ]
        )
    print(format_table(rows, ["tracker", "paper", "weights", "dev-eval AUC", "fps (2 CPU cores)"]))
    print(
        f"\nAUC: got10k success AUC on the dev-eval split of ../shared; fps: siamtrack bench on a quiet 2-core CPU; "
        f"sources in {RESULTS} (siamtrack/trackers/catalogue.py). Default: {DEFAULT_TRACKER}."
    )
    return 0


SERVE_EXTRA = ("starlette", "uvicorn")  # what `pip install 'siamtrack[serve]'` brings


def _add_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--videos",
        default=None,
        metavar="DIR",
        help="folder whose videos the page offers (besides the demo clip and uploads)",
    )
    parser.add_argument(
        "--results",
        default=None,
        metavar="DIR",
        help="results folder: its reports (report.json + plots, any depth up to 4) and, with "
        "--dataset/--root, its <tracker>/<sequence>.txt boxes played over the frames",
    )
    parser.add_argument(
        "--dataset", default=None, help="dataset reader of the sequences to play (see 'datasets list'), with --root"
    )
    parser.add_argument("--root", default=None, metavar="DIR", help="dataset root folder, with --dataset")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. --option split=dev-eval (repeatable)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: a free one, printed)")
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=200.0,
        metavar="N",
        help="largest video the page may upload, in MB (default 200)",
    )


def _run_serve(args: argparse.Namespace) -> int:
    import importlib.util
    from pathlib import Path

    missing = [name for name in SERVE_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"error: siamtrack serve needs the 'serve' extra ({', '.join(missing)} not installed): "
            "pip install 'siamtrack[serve]'",
            file=sys.stderr,
        )
        return 2
    from siamtrack.serve import ServeConfig, serve

    try:
        folders = {}
        for option in ("videos", "results", "root"):
            value = getattr(args, option)
            if value is not None and not Path(value).is_dir():
                raise UsageError(f"--{option} {value}: not a folder")
            folders[option] = Path(value) if value is not None else None
        if (args.dataset is None) != (args.root is None):
            raise UsageError("--dataset and --root go together (the sequences to play over their results)")
        options = _dataset_options(args.dataset, args.option) if args.dataset else {}
        if args.max_upload_mb <= 0:
            raise UsageError(f"--max-upload-mb must be > 0, got {args.max_upload_mb:g}")
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = ServeConfig(
        videos=folders["videos"],
        results=folders["results"],
        dataset=args.dataset,
        root=folders["root"],
        options=options,
        max_upload_mb=args.max_upload_mb,
    )
    try:
        serve(config, args.host, args.port, announce=lambda line: print(line, flush=True))
    except OSError as error:  # the port is taken, the address is not this machine's
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {
    "trackers": ("list the registered trackers: paper, weights, measured AUC and fps", _add_trackers, _run_trackers),
    "demo": ("track the bundled demo clip with a bundled default model", _add_demo, _run_demo),
    # name: (help, add-arguments function, run function)
    "eval": ("run a tracker over a dataset and score it (results files + report)", _add_eval, _run_eval),
    "report": ("compare trackers from their result files: JSON, Markdown, PNG plots", _add_report, _run_report),
    "track": ("track one target in a video, a frame folder or a camera", _add_track, _run_track),
    "bench": ("measure trackers' speed (fps) on real sequences", _add_bench, _run_bench),
    "train": ("train a model offline from a YAML config", _add_train, _run_train),
    "datasets": ("list dataset readers or summarise a dataset", _add_datasets, _run_datasets),
    "serve": (
        "a local web page: draw a box, watch it tracked, download the results; browse reports",
        _add_serve,
        _run_serve,
    ),
}
# the commands that track frames, which opt into keep_freed_memory (main)
TRACKING_COMMANDS = ("demo", "track", "eval", "bench", "serve")


def build_parser() -> argparse.ArgumentParser:
    from siamtrack import __version__

    parser = argparse.ArgumentParser(prog="siamtrack", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 a runtime error, 2 a usage error, 130 interrupted (Ctrl-C: one line,
    no traceback; finished results stay on disk, so ``eval`` and ``train --resume`` continue where they stopped)."""
    args = build_parser().parse_args(argv)
    if args.command in TRACKING_COMMANDS:
        # The one process-wide setting the CLI makes, here and nowhere else in it: glibc's malloc keeps freed
        # feature maps for reuse instead of returning them to the kernel each frame (up to a third less CPU per
        # frame on DCFNet; no result changes). siamtrack.trackers.base.keep_freed_memory says why and who else
        # opts in.
        from siamtrack.trackers.base import keep_freed_memory

        keep_freed_memory()
    try:
        return COMMANDS[args.command][2](args)
    except KeyboardInterrupt as error:  # track's says how many frames it kept
        print(f"siamtrack {args.command}: {str(error) or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
