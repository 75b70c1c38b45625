"""What the benchmark and ablation scripts share: where things are, where a figure comes from (machine,
commit), how time and FLOPs are measured, how results are recorded, and how the ablations drive ``siamtrack``.

The scripts are run as ``python benchmarks/X.py ...``: Python then puts ``benchmarks/`` on ``sys.path`` and
``from common import ...`` works. The scripts of ``benchmarks/ablations/`` put it there themselves, first::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for common

``siamtrack`` itself comes from the project's environment (``scripts/setup.sh`` installs it editable).
torch is imported only by the helpers that need it, so numpy-only scripts stay light.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
SHARED = Path(os.environ.get("SIAMTRACK_SHARED", REPO.parent / "shared"))
MATMUL_SIZE = 2048  # the square float32 matmul that measures the machine's FLOP rate
MATMUL_FLOPS = 2.0 * MATMUL_SIZE**3


# --- where things are ------------------------------------------------------------------------------------------


def add_shared_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shared",
        type=Path,
        default=SHARED,
        help="the shared folder: data/index.json, weights (default: $SIAMTRACK_SHARED or ../shared)",
    )


def named_sequences(shared: str | os.PathLike, names, split: str = "dev-eval") -> list:
    """The sequences ``names`` of ``split``, in that order; an error names the missing ones."""
    from siamtrack.data import shared_split

    found = {sequence.name: sequence for sequence in shared_split(shared, split)}
    missing = sorted(set(names) - set(found))
    if missing:
        raise FileNotFoundError(f"{shared}: {split} sequences {missing} not found")
    return [found[name] for name in names]


def first_frames(sequence, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of ``sequence``, decoded (all of them if it is shorter)."""
    return [sequence.frames[i] for i in range(min(count, len(sequence)))]


def dragonbaby_frames(count: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The first ``count`` frames of OTB DragonBaby (from ``SHARED``) and its first box (0-based xywh)."""
    from siamtrack.data import ImageFiles

    root = SHARED / "data" / "benchmarks" / "OTB" / "DragonBaby"
    paths = sorted((root / "img").glob("*.jpg"))[:count]
    if not paths:
        raise SystemExit(f"no frames under {root} (set SIAMTRACK_SHARED)")
    box = np.loadtxt(root / "groundtruth_rect.txt", delimiter=",")[0] - np.array([1, 1, 0, 0])
    return list(ImageFiles(paths)), box


# --- where a figure comes from ---------------------------------------------------------------------------------


def machine_description() -> str:
    """``CPU model, N logical CPUs, OS release``, the model as ``lscpu`` names it."""
    model = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), model)
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def git_commit() -> str:
    """The short HEAD commit, ``(+ uncommitted changes)`` when the tree differs from it; ``unknown`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (+ uncommitted changes)" if dirty.strip() else "")


def provenance() -> str:
    """One line: machine, Python, torch and its threads, load average (1, 5, 15 min) now, commit, UTC time."""
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"machine: {machine_description()}; Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"commit {git_commit()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


def command_line(script: str, argv: list[str] | None = None) -> str:
    """``python benchmarks/X.py ARGUMENTS``: how ``script`` (its ``__file__``) was run."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", Path(script).resolve().relative_to(REPO).as_posix(), *arguments])


def append_results(title: str, body: str) -> Path:
    """Append a ``## title`` section holding ``body`` to ``benchmarks/RESULTS.md``."""
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(f"\n## {title}\n\n{body}\n")
    return RESULTS


# --- timing -----------------------------------------------------------------------------------------------------


def timed(function, *args) -> tuple[float, float]:
    """(wall seconds, process CPU seconds, all threads) of one call ``function(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def median_seconds(function, repeats: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds of ``repeats`` calls after a warm-up; on a shared
    machine the CPU time is the steadier figure."""
    function()  # warm-up
    samples = [timed(function) for _ in range(repeats)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def update_seconds(tracker, frames: list) -> tuple[float, float]:
    """(wall, process CPU) seconds per frame of ``tracker.update`` over ``frames`` (the tracker initialised)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for image in frames:
        tracker.update(image)
    return (time.perf_counter() - wall) / len(frames), (time.process_time() - cpu) / len(frames)


def speed_parser(
    doc: str, *, frames: int, runs: int, threads: int | None = 2, frames_help: str = "frames per sequence"
) -> argparse.ArgumentParser:
    """The options of every tracking-speed benchmark: --threads, --frames, --runs, --record. Also applies
    :func:`siamtrack.trackers.base.keep_freed_memory`, as ``siamtrack bench`` and every tracking loop do, so the
    benchmarks time trackers as they run (building a tracker no longer applies it)."""
    from siamtrack.trackers.base import keep_freed_memory

    keep_freed_memory()
    default_threads = threads or "torch's"
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=threads, help=f"torch threads (default: {default_threads})")
    parser.add_argument("--frames", type=int, default=frames, help=f"{frames_help} (default: {frames})")
    parser.add_argument("--runs", type=int, default=runs, help=f"timed runs (default: {runs})")
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    return parser


# --- FLOPs against the machine's matmul rate --------------------------------------------------------------------


@contextmanager
def counting_conv_flops(module):
    """Inside the block, every ``Conv2d`` call of ``module`` adds its FLOPs (2 per multiply-add) to the yielded list."""
    from torch import nn

    counted: list[int] = []

    def hook(conv: nn.Conv2d, _inputs, output):
        kh, kw = conv.kernel_size
        counted.append(2 * output.numel() * (conv.in_channels // conv.groups) * kh * kw)

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        yield counted
    finally:
        for handle in handles:
            handle.remove()


def siamese_step_flops(tracker, image: np.ndarray) -> tuple[int, int]:
    """(embedding FLOPs, correlation FLOPs) of one update of an initialised SiamFC-style tracker (search crops
    through ``model.embed``, then cross-correlation with ``tracker.template``)."""
    import torch

    p = tracker.params
    sides = tracker.context_region * p.instance_size / p.context_size * p.scale_factors
    with counting_conv_flops(tracker.model) as counted, torch.inference_mode():
        features = tracker.model.embed(tracker.crop_inputs(image, sides, p.instance_size))
    template = tracker.template
    response = features.shape[-1] - template.shape[-1] + 1
    return sum(counted), 2 * features.shape[0] * response**2 * template[0].numel()


def matmul_operands():
    """Two random ``MATMUL_SIZE`` square float32 matrices, multiplied once (warm-up)."""
    import torch

    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    timed(torch.matmul, a, b)
    return a, b


def interleaved_times(tracker, frames: list, box, runs: int, operands) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``runs`` times: ``init`` on ``frames[0]``, then every ``update`` on ``frames[1:]`` followed by one matmul of
    ``operands`` (so both see the same machine load). Returns the (wall, CPU) seconds of every update and of every
    matmul (n x 2 arrays) and the wall seconds of every ``init``."""
    import torch

    steps, matmuls, inits = [], [], []
    for _ in range(runs):
        inits.append(timed(tracker.init, frames[0], box)[0])
        for image in frames[1:]:
            steps.append(timed(tracker.update, image))
            matmuls.append(timed(torch.matmul, *operands))
    return np.array(steps), np.array(matmuls), np.array(inits)


def matmul_gflops(seconds: np.ndarray) -> np.ndarray:
    """GFLOP/s of the ``MATMUL_SIZE`` matmuls that took ``seconds``."""
    return MATMUL_FLOPS / seconds / 1e9


def flop_bound_ms(flops: float, rates: np.ndarray) -> tuple[float, float]:
    """Milliseconds that ``flops`` take at the median and at the best of the matmul ``rates`` (GFLOP/s)."""
    return flops / (np.median(rates) * 1e9) * 1e3, flops / (rates.max() * 1e9) * 1e3


# --- ablations: train -> eval on dev-eval -> report ------------------------------------------------------------


def run_siamtrack(*arguments: str) -> None:
    """Run ``siamtrack ARGUMENTS`` (this interpreter, the repository root as working directory); stop on failure."""
    print("+ siamtrack " + " ".join(arguments), flush=True)
    result = subprocess.run([sys.executable, "-m", "siamtrack.cli", *arguments], cwd=REPO)
    if result.returncode:
        raise SystemExit(
            f"siamtrack {arguments[0]} failed with exit status {result.returncode}: siamtrack {' '.join(arguments)}"
        )


def repeated(option: str, values) -> list[str]:
    """``[option, v1, option, v2, ...]``: an option given once per value (``--set``, ``--param``)."""
    return [item for value in values for item in (option, value)]


def ablation_parser(doc: str, rows, out: str, *, trained: bool, smoke: str) -> argparse.ArgumentParser:
    """The options of every ablation script: --out (default ``runs/<out>``, made absolute), --shared, --rows (a
    list of known rows once parsed), --sequences, --smoke (``smoke``: what it does); for ``trained`` rows --set
    (``args.overrides``, for ``siamtrack train``), otherwise --weights and --param (for ``siamtrack eval``)."""
    known = list(rows)

    def row_list(text: str) -> list[str]:
        chosen = [row for row in text.split(",") if row]
        unknown = [row for row in chosen if row not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown rows {unknown}; known: {', '.join(known)}")
        return chosen

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--out", type=lambda text: Path(text).resolve(), default=str(REPO / "runs" / out), help="output folder"
    )
    add_shared_argument(parser)
    parser.add_argument(
        "--rows", type=row_list, default=",".join(known), help=f"comma-separated rows among {', '.join(known)}"
    )
    if trained:
        parser.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="config override for every trained row (siamtrack train --set)",
        )
    else:
        parser.add_argument("--weights", default=None, help="backbone weights (default: the bundled siamfc.pth)")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="tracker hyper-parameter override for every row, e.g. backbone=vgg16",
        )
    parser.add_argument("--sequences", default=None, help="evaluate only these dev-eval sequences (comma-separated)")
    parser.add_argument("--smoke", action="store_true", help=smoke)
    return parser


def train_row(config: str, run_dir: Path, overrides: list[str]) -> Path:
    """``siamtrack train`` of one row into ``run_dir`` (resumable) unless it has finished; its ``model.pth``."""
    weights = run_dir / "model.pth"
    if not weights.exists():
        run_siamtrack("train", "--config", config, "--run-dir", str(run_dir), "--resume", *repeated("--set", overrides))
    return weights


def dev_eval_options(
    shared, results: Path, sequences: str | None = None, protocol: str = "otb", experiment: str | None = None
) -> list[str]:
    """The ``siamtrack eval`` / ``report`` options for the shared ``dev-eval`` split (``sequences``: a
    comma-separated subset) under ``protocol`` (and its ``experiment``), results under ``results``."""
    return (
        ["--dataset", "shared", "--root", str(shared), "--option", "split=dev-eval", "--protocol", protocol]
        + (["--experiment", experiment] if experiment else [])
        + ["--results", str(results)]
        + (["--sequences", sequences] if sequences else [])
    )


def report_results(report_dir: Path, experiment: str = "ope") -> dict:
    """Tracker name -> results of ``experiment`` in ``report_dir/report.json`` (as ``siamtrack report`` writes it)."""
    path = report_dir / "report.json"
    results = json.loads(path.read_text())["results"]
    if experiment not in results:
        raise SystemExit(f"{path}: no {experiment!r} results (has {sorted(results)})")
    return results[experiment]


# --- training curves -----------------------------------------------------------------------------------------


def iterations_to_converge(curve: np.ndarray, within: float = 0.1) -> int:
    """First index after which the smoothed loss stays within ``within`` (relative) of its final value."""
    final = curve[-1]
    outside = np.flatnonzero(np.abs(curve - final) > within * abs(final))
    return int(outside[-1] + 1) if len(outside) else 0


def training_curves(runs: dict[str, Path], figure_path: Path, table_path: Path, window: int = 50) -> str:
    """Each run's training loss (``<run>/log.csv``) in one figure, relative to the first value of its moving average
    over ``window`` iterations (losses differ in scale; drawn by :func:`siamtrack.training.plots.plot_losses`), and
    a markdown table: iterations logged, the smoothed index after which the loss stays within 10 % of its final
    value, final / first, and the change over the last fifth of the run (negative: still falling). Returns the
    table."""
    from siamtrack.training.plots import plot_losses, read_log, running_mean

    lines = [
        "| run | iterations | converged (within 10 % of final) after | final / first | change over the last fifth |",
        "|---|---|---|---|---|",
    ]
    for label, run in runs.items():
        losses = read_log(run / "log.csv")["loss"]
        if len(losses) == 0:
            raise SystemExit(f"{run / 'log.csv'}: no logged iterations")
        curve = running_mean(losses, window)
        tail_start = curve[int(len(curve) * 0.8)]
        lines.append(
            f"| {label} | {len(losses)} | {iterations_to_converge(curve)} | {curve[-1] / curve[0]:.3f} | "
            f"{curve[-1] / tail_start - 1:+.1%} |"
        )
    plot_losses(
        [run / "log.csv" for run in runs.values()],
        figure_path,
        labels=list(runs),
        smooth=window,
        ylabel="training loss / first value of its moving average",
        relative=True,
    )
    table = "\n".join(lines) + "\n"
    Path(table_path).write_text(table)
    print(table)
    return table
