"""Run any tracker over sequences and write result files (see :mod:`siamtrack.evaluation.results`).

A tracker is anything with ``init(image, box)`` and ``update(image) -> box``. Runners take a *factory*
that builds a fresh tracker per run, so that runs can go to worker processes:

* a picklable zero-argument callable (a class, ``functools.partial(MyTracker, scale=3)``), or
* ``(target, kwargs)`` with ``target`` a dotted path ``"package.module:attribute"`` (or
  ``"package.module.attribute"``) to a callable, or a :class:`TrackerFactory`.

Runs are independent jobs, executed in ``workers`` processes (``spawn`` start method, so trackers that
use threads or torch are safe) or in this process when ``workers <= 1``. A run whose results file exists is
skipped, and every file is written atomically, so an interrupted run resumes where it stopped without
recomputing or losing anything. Runners on the same results folder share the work: each run is claimed first
(:func:`claim`), so two processes or two machines on a shared disk finish a benchmark together. Frames are decoded
only when the tracker is given them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from siamtrack.data.sequence import Sequence, image_size
from siamtrack.importing import import_object
from siamtrack.evaluation.overlap import overlaps
from siamtrack.evaluation.protocol import Protocol, get_protocol
from siamtrack.evaluation.results import ope_paths, supervised_paths, write_one_pass, write_supervised
from siamtrack.evaluation.supervised import FrameState, RealtimeClock, SupervisedRun
from siamtrack.evaluation.tre_sre import SRE_SHIFTS, one_pass_runs, sre_initial_boxes


@dataclass(frozen=True)
class TrackerFactory:
    """Builds a tracker from a dotted path and keyword arguments; picklable by construction."""

    target: str
    kwargs: dict = field(default_factory=dict)

    def __call__(self):
        try:
            builder = import_object(self.target, allow_dots=True)
        except ValueError:
            raise ValueError(f"tracker target {self.target!r} is not 'package.module:attribute'") from None
        except ImportError as error:
            raise ValueError(f"cannot import tracker target {self.target!r}: {error}") from None
        return builder(**self.kwargs)


def as_factory(tracker) -> Callable:
    """Normalise the accepted tracker specifications to a zero-argument callable."""
    if isinstance(tracker, tuple):
        if len(tracker) != 2 or not isinstance(tracker[0], str) or not isinstance(tracker[1], dict):
            raise ValueError(f"a tracker given as a tuple must be (dotted path, kwargs), got {tracker!r}")
        return TrackerFactory(tracker[0], dict(tracker[1]))
    if isinstance(tracker, str):
        return TrackerFactory(tracker)
    if not callable(tracker):
        raise ValueError(f"tracker factory {tracker!r} is not callable")
    return tracker


# ----------------------------------------------------------------------------------------------- one-pass
@dataclass(frozen=True)
class OnePassJob:
    """Track ``sequence`` from frame ``start`` with ``init_box`` to its end; write ``boxes_path``."""

    sequence: Sequence
    start: int
    init_box: tuple[float, float, float, float]
    boxes_path: Path
    times_path: Path

    @property
    def frames(self) -> int:
        """The frames this run tracks (the progress unit of :func:`run_jobs`)."""
        return len(self.sequence) - self.start

    def run(self, factory: Callable, on_frame: Callable[[], object] | None = None) -> str:
        """Track and write the files; ``on_frame()`` is called after each frame (progress)."""
        from siamtrack.trackers.base import keep_freed_memory, release_freed_memory  # here: scoring needs no torch

        keep_freed_memory()  # opting in for this (worker) process: see its doc
        tracker = factory()
        frames = self.sequence.frames
        boxes, times = [], []
        for index in range(self.start, len(self.sequence)):
            image = frames[index]
            began = time.perf_counter()
            if index == self.start:
                tracker.init(image, np.asarray(self.init_box, dtype=np.float64))
                box = np.asarray(self.init_box, dtype=np.float64)
            else:
                box = np.asarray(tracker.update(image), dtype=np.float64).reshape(-1)
            times.append(time.perf_counter() - began)
            release_freed_memory()
            if box.shape != (4,):
                raise ValueError(f"{self.sequence.name} frame {index}: tracker returned {box!r}, not x,y,w,h")
            boxes.append(box)
            if on_frame is not None:
                on_frame()
        write_one_pass(self.boxes_path, self.times_path, np.array(boxes), np.array(times))
        return str(self.boxes_path)


def one_pass_jobs(sequences: Iterable[Sequence], root, tracker_name: str, experiment: str = "ope") -> list[OnePassJob]:
    """The runs of an OPE, TRE or SRE experiment (all of them, done or not)."""
    if experiment not in ("ope", "tre", "sre"):
        raise ValueError(f"unknown one-pass experiment {experiment!r} (ope, tre, sre)")
    jobs = []
    for sequence in sequences:
        runs = one_pass_runs(sequence, experiment)  # (start frame, run name): the names the scorer reads
        if experiment == "ope":
            boxes = [sequence.init_box]
        elif experiment == "tre":
            boxes = [sequence.ground_truth[start] for start, _ in runs]
        else:
            boxes = sre_initial_boxes(sequence.init_box, image_size(sequence))
        for (start, run), box in zip(runs, boxes, strict=True):
            boxes_path, times_path = ope_paths(root, tracker_name, run, experiment)
            jobs.append(OnePassJob(sequence, int(start), tuple(float(v) for v in box), boxes_path, times_path))
    return jobs


# ---------------------------------------------------------------------------------------------- supervised
@dataclass(frozen=True)
class SupervisedJob:
    """One reset-based run of ``sequence`` (VOT baseline, or realtime when ``clock`` is given)."""

    sequence: Sequence
    protocol: Protocol
    trajectory_path: Path
    times_path: Path
    clock: RealtimeClock | None = None

    @property
    def frames(self) -> int:
        """The frames of the sequence (the progress unit of :func:`run_jobs`; frames skipped after a failure
        count as done when the run ends)."""
        return len(self.sequence)

    def run(self, factory: Callable, on_frame: Callable[[], object] | None = None) -> str:
        write_supervised(
            self.trajectory_path,
            self.times_path,
            supervised_run(factory, self.sequence, self.protocol, self.clock, on_frame),
        )
        return str(self.trajectory_path)


def supervised_run(
    factory: Callable,
    sequence: Sequence,
    protocol: Protocol | str,
    clock: RealtimeClock | None = None,
    on_frame: Callable[[], object] | None = None,
) -> SupervisedRun:
    """Track ``sequence`` with resets: a frame whose reported box overlaps the ground truth by at most
    ``protocol.failure_overlap`` (``reset_overlap`` measure) is a failure, and a new tracker is initialised
    ``protocol.skip_initialize`` frames later on the ground truth (vot-toolkit ``SupervisedExperiment``).
    With a ``clock`` the reported boxes follow the realtime simulation of :class:`RealtimeClock`."""
    from siamtrack.trackers.base import keep_freed_memory, release_freed_memory  # here: scoring needs no torch

    keep_freed_memory()  # opting in for this (worker) process: see its doc
    protocol = get_protocol(protocol)
    count = len(sequence)
    size = image_size(sequence)
    polygons = sequence.polygons if protocol.use_polygons else None
    states = np.full(count, FrameState.SKIPPED, dtype=np.int8)
    boxes = np.full((count, 4), np.nan)
    times = np.zeros(count)

    def failed(box: np.ndarray, frame: int) -> bool:
        reference = None if polygons is None else polygons[frame : frame + 1]
        value = overlaps(
            box[None, :],
            sequence.ground_truth[frame : frame + 1],
            protocol.reset_overlap,
            image_size=size,
            clip_to_image=protocol.clip_to_image,
            polygons=reference,
        )[0]
        return not (value > protocol.failure_overlap)  # NaN (e.g. a NaN box) is a failure too

    frame = 0
    while frame < count:
        tracker = factory()
        init_box = sequence.ground_truth[frame].copy()
        began = time.perf_counter()
        tracker.init(sequence.frames[frame], init_box)
        times[frame] = time.perf_counter() - began
        states[frame] = FrameState.INITIALIZED
        if on_frame is not None:
            on_frame()
        if clock is not None:
            grace = clock.grace
            seconds, grace = clock.duration(times[frame], grace)
            free_at = clock.arrival(frame) + seconds  # when the tracker can take a new frame
            reported = init_box  # the last output available
            pending: tuple[np.ndarray, float] | None = None  # an output still being computed
        frame += 1
        while frame < count:
            if clock is None:
                began = time.perf_counter()
                box = np.asarray(tracker.update(sequence.frames[frame]), dtype=np.float64).reshape(-1)
                times[frame] = time.perf_counter() - began
            else:
                deadline = clock.arrival(frame + 1)
                if pending is not None and pending[1] <= deadline:
                    reported, pending = pending[0], None
                if free_at < deadline:  # idle before the next frame arrives: take this frame
                    began = time.perf_counter()
                    output = np.asarray(tracker.update(sequence.frames[frame]), dtype=np.float64).reshape(-1)
                    times[frame] = time.perf_counter() - began
                    seconds, grace = clock.duration(times[frame], grace)
                    free_at = max(free_at, clock.arrival(frame)) + seconds
                    if free_at <= deadline:
                        reported = output
                    else:
                        pending = (output, free_at)
                box = np.asarray(reported, dtype=np.float64).reshape(-1)
            release_freed_memory()
            if box.shape != (4,):
                raise ValueError(f"{sequence.name} frame {frame}: tracker returned {box!r}, not x,y,w,h")
            if failed(box, frame):
                states[frame] = FrameState.FAILED
                frame += protocol.skip_initialize
                break
            states[frame] = FrameState.TRACKED
            boxes[frame] = box
            frame += 1
            if on_frame is not None:
                on_frame()
    return SupervisedRun(states, boxes, times)


def supervised_jobs(
    sequences: Iterable[Sequence],
    root,
    tracker_name: str,
    protocol: Protocol | str = "vot",
    experiment: str = "baseline",
    repetitions: int = 1,
    clock: RealtimeClock | None = None,
) -> list[SupervisedJob]:
    """The runs of a reset-based experiment (``baseline``, or ``realtime`` with a ``clock``)."""
    protocol = get_protocol(protocol)
    if (experiment == "realtime") != (clock is not None):
        raise ValueError("the realtime experiment needs a RealtimeClock, and only it takes one")
    jobs = []
    for sequence in sequences:
        for repetition in range(1, repetitions + 1):
            trajectory_path, times_path = supervised_paths(root, tracker_name, experiment, sequence.name, repetition)
            jobs.append(SupervisedJob(sequence, protocol, trajectory_path, times_path, clock))
    return jobs


# ------------------------------------------------------------------------------------------------- runner
def _execute(job, factory, on_frame: Callable[[], object] | None = None):
    """Run ``job`` unless another runner holds its claim (then ``None``); the claim is released when it ends."""
    if not claim(job):
        return None
    try:
        return job.run(factory) if on_frame is None else job.run(factory, on_frame)
    finally:
        release(job)


def _done_path(job) -> Path:
    return job.boxes_path if isinstance(job, OnePassJob) else job.trajectory_path


def _is_done(job) -> bool:
    """A run is done when both its results file and its times file exist: a deleted (or never written) times file
    makes the run go again, so that no fps is ever computed from part of the runs."""
    return _done_path(job).exists() and job.times_path.exists()


# ------------------------------------------------------------------------- sharing the work between runners
# Several runners (processes, or machines on one shared disk) can work on the same results folder at once: a runner
# takes a run only after creating its claim file ``<results file>.claim`` exclusively (:func:`_create_exclusively`:
# a hard link, atomic on local file systems and NFS), so every run is done once. The claim holds the runner's host,
# pid and start time; a claim of a process that is gone (same host, pid not alive) is stale and taken over. A claim
# from another host is honoured for CLAIM_EXPIRY seconds (a runner killed there cannot be seen from here), then
# taken over. Where the file system has no hard links a claim file is created empty and then written, so another
# runner can read it half-written: an unreadable claim is stale only once it is CLAIM_WRITE_GRACE seconds old (a
# runner killed while writing it).
CLAIM_EXPIRY = 12 * 3600.0
CLAIM_WRITE_GRACE = 60.0


def _claim_path(job) -> Path:
    done = _done_path(job)
    return done.with_name(done.name + ".claim")


def _claim_is_stale(path: Path) -> bool:
    import json
    import socket

    try:
        holder = json.loads(path.read_text())
        host, pid, started = holder["host"], int(holder["pid"]), float(holder["time"])
    except FileNotFoundError:
        return True  # released meanwhile
    except (OSError, ValueError, KeyError, TypeError):
        try:  # unreadable: being written right now, or by a runner killed while writing it
            return time.time() - path.stat().st_mtime > CLAIM_WRITE_GRACE
        except FileNotFoundError:
            return True
    if host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return time.time() - started > CLAIM_EXPIRY


def _remove_stale_claim(path: Path) -> None:
    """Remove the stale claim at ``path`` without removing a live one that replaced it since it was read: the file
    is moved aside (atomic; of two runners taking it over, one moves it), checked again, and put back if live."""
    aside = path.with_name(f"{path.name}.{os.getpid()}.stale")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # removed (or taken over) by another runner meanwhile
    if _claim_is_stale(aside):
        aside.unlink(missing_ok=True)
        return
    try:  # a live runner's claim, made after the stale one was read: give it back
        os.link(aside, path)
    except OSError:
        pass  # a third claim is there already: that one holds the run
    aside.unlink(missing_ok=True)


def _create_exclusively(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text``, only if it does not exist (``False`` then; one of several runners
    creating it at once wins). The text goes to a complete temporary file that is hard-linked onto ``path``
    (atomic and exclusive), so no reader sees it half-written. Where the file system has no hard links, ``path``
    is created with O_CREAT | O_EXCL and then written: exclusive, but readable empty for a moment (hence
    :data:`CLAIM_WRITE_GRACE`)."""
    from siamtrack.atomic_files import write_text_atomically

    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    write_text_atomically(temporary, text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def claim(job) -> bool:
    """Take ``job`` for this process: ``True`` when its claim file was created here, ``False`` when another live
    runner holds it or its result exists already (a stale claim is removed and taken over)."""
    import json
    import socket

    path = _claim_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        if _is_done(job):
            return False
        holder = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
        if not _create_exclusively(path, holder):
            if not _claim_is_stale(path):
                return False
            _remove_stale_claim(path)
            continue
        if _is_done(job):  # finished by another runner between the check and the claim
            release(job)
            return False
        return True
    return False


def release(job) -> None:
    """Remove this process's claim of ``job``."""
    _claim_path(job).unlink(missing_ok=True)


def _wait_for_others(jobs: list, factory, poll: float = 2.0) -> tuple[list, list]:
    """Wait until the runs that other runners claimed have their results; a run whose claim disappears (or goes
    stale) without a result is taken over and run here. Returns ``(written, errors)`` of the runs done here."""
    written, errors, waiting = [], [], list(jobs)
    while waiting:
        still = []
        for job in waiting:
            if _is_done(job):
                continue
            try:
                result = _execute(job, factory)
            except Exception as error:  # noqa: BLE001
                errors.append((job, error))
                continue
            if result is None:
                still.append(job)
            else:
                written.append(result)
        waiting = still
        if waiting:
            time.sleep(poll)
    return written, errors


def run_jobs(
    tracker,
    jobs: list,
    workers: int = 1,
    progress: bool = True,
    description: str = "tracking",
    announce: Callable[[str], object] | None = None,
    counts: dict | None = None,
) -> list[str]:
    """Execute the jobs whose results file does not exist yet; returns the files written here.

    Runners share the work: each run is claimed before it starts (:func:`claim`), so two ``siamtrack eval`` on one
    results folder (two processes, or two machines on a shared disk) each do part of it; a runner then waits for
    the runs others hold, and runs any that another runner abandoned.

    ``workers > 1`` runs them in that many ``spawn`` worker processes (the factory and the sequences must
    be picklable). A failing job raises after the others have finished, naming the run. ``announce`` (e.g.
    ``print``) is told ``"<description>: found N results, skipping them"`` when some results exist already.

    ``progress`` shows frames done, rate and ETA on stderr (:func:`siamtrack.progress.progress_bar`): frame by
    frame in this process, a run's frames at once when it ends in a worker process. ``counts`` (a dict), when
    given, gets ``"runs"`` and ``"frames"`` added: the runs done here and their frames (the summary line)."""
    from siamtrack.progress import progress_bar

    factory = as_factory(tracker)
    pending = [job for job in jobs if not _is_done(job)]
    if announce is not None and len(pending) < len(jobs):
        announce(f"{description}: found {len(jobs) - len(pending)} results, skipping them")
    written, errors, elsewhere = [], [], []
    frames_of = lambda job: getattr(job, "frames", 1)  # noqa: E731 - a job type without frames counts as 1
    bar = progress_bar(
        total=sum(frames_of(job) for job in pending), desc=description, unit="frame", disable=not progress
    )
    done_here = {"runs": 0, "frames": 0}

    class FrameCounter:  # the in-process per-frame progress of one run
        def __init__(self):
            self.count = 0

        def __call__(self) -> None:
            self.count += 1
            bar.update(1)

    def finished(job, result, counted: int = 0) -> None:
        if result is None:  # claimed by another runner: wait for it at the end
            elsewhere.append(job)
        else:
            written.append(result)
            done_here["runs"] += 1
            done_here["frames"] += frames_of(job)
        bar.update(max(frames_of(job) - counted, 0))

    try:
        if workers <= 1 or len(pending) <= 1:
            for job in pending:
                counter = FrameCounter() if progress and hasattr(job, "frames") else None
                try:
                    finished(job, _execute(job, factory, counter), counter.count if counter else 0)
                except Exception as error:  # noqa: BLE001 - reported below with the run's name
                    errors.append((job, error))
                    bar.update(max(frames_of(job) - (counter.count if counter else 0), 0))
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_execute, job, factory): job for job in pending}
                for future in as_completed(futures):
                    try:
                        finished(futures[future], future.result())
                    except Exception as error:  # noqa: BLE001
                        errors.append((futures[future], error))
                        bar.update(frames_of(futures[future]))
        if elsewhere:
            if announce is not None:
                announce(f"{description}: {len(elsewhere)} runs are being done by another runner; waiting for them")
            more_written, more_errors = _wait_for_others(elsewhere, factory)
            written += more_written
            errors += more_errors
    finally:
        bar.close()
        if counts is not None:
            for key, value in done_here.items():
                counts[key] = counts.get(key, 0) + value
    if errors:
        job, error = errors[0]
        raise RuntimeError(
            f"{len(errors)} of {len(pending)} runs failed; first: {_done_path(job)}: {type(error).__name__}: {error}"
        ) from error
    return written


def run_one_pass(
    tracker,
    sequences: Iterable[Sequence],
    root,
    tracker_name: str,
    experiment: str = "ope",
    workers: int = 1,
    progress: bool = True,
    announce: Callable[[str], object] | None = None,
    counts: dict | None = None,
) -> list[str]:
    """Run an OPE/TRE/SRE experiment; see :func:`run_jobs`."""
    return run_jobs(
        tracker,
        one_pass_jobs(sequences, root, tracker_name, experiment),
        workers,
        progress,
        description=f"{tracker_name} {experiment}",
        announce=announce,
        counts=counts,
    )


def run_supervised(
    tracker,
    sequences: Iterable[Sequence],
    root,
    tracker_name: str,
    protocol: Protocol | str = "vot",
    experiment: str = "baseline",
    repetitions: int = 1,
    clock: RealtimeClock | None = None,
    workers: int = 1,
    progress: bool = True,
    announce: Callable[[str], object] | None = None,
    counts: dict | None = None,
) -> list[str]:
    """Run a VOT reset-based experiment (``baseline``; ``realtime`` with a :class:`RealtimeClock`)."""
    return run_jobs(
        tracker,
        supervised_jobs(sequences, root, tracker_name, protocol, experiment, repetitions, clock),
        workers,
        progress,
        description=f"{tracker_name} {experiment}",
        announce=announce,
        counts=counts,
    )


# ------------------------------------------------------------------------------ what produced a result folder
RUN_FILE = "run.json"
IDENTITY_KEYS = ("tracker", "params", "weights_sha256")  # results of runs differing in these are not comparable


class ResultsMismatch(ValueError):
    """A result folder holds results of another tracker, other parameters or other weights."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_metadata(
    tracker: str, weights, params: dict, weights_file: str | Path | None = None, preset: str | None = None
) -> dict:
    """What produces a result folder: the tracker's registered name, its resolved hyper-parameters (``params``:
    the ``preset``'s, which is recorded by name, with the ``--param`` overrides over them; see
    :mod:`siamtrack.presets`), its weights (as given: a path, ``"random"``, or ``None`` for the bundled default;
    ``weights_file`` is the file actually read, whose SHA-256 identifies them) and the siamtrack version.
    :func:`siamtrack.presets.tracker_from_run` rebuilds the tracker from it."""
    import json

    import siamtrack

    if weights_file is None and isinstance(weights, (str, Path)) and str(weights) != "random":
        weights_file = weights
    digest = file_sha256(weights_file) if weights_file is not None and Path(weights_file).is_file() else None
    return {
        "tracker": tracker,
        "params": json.loads(json.dumps(params, sort_keys=True, default=repr)),
        "weights": None if weights is None else str(weights),
        "weights_sha256": digest,
        "preset": preset,
        "siamtrack": siamtrack.__version__,
    }


def _describe(key: str, value) -> str:
    if key == "weights_sha256":
        return "none (random)" if value is None else f"sha256 {value[:12]}"
    return repr(value)


_LABELS = {"tracker": "tracker", "params": "parameters", "weights_sha256": "weights"}


def claim_results_folder(root, name: str, metadata: dict) -> list[str]:
    """Check that ``<root>/<name>`` may take the results of the run described by ``metadata``
    (:func:`run_metadata`), and record it there as ``run.json`` (written atomically) when the folder is new.
    Returns warnings (one line each). Raises :class:`ResultsMismatch` (one line: what differs, and what to do)
    when the folder's ``run.json`` names another tracker, other parameters or other weights: its results
    would otherwise be reused as this run's. A folder with results but no ``run.json`` (older siamtrack) is
    used as it is, with a warning, and left without one (nothing vouches for its results)."""
    import json

    folder = Path(root) / name
    record = folder / RUN_FILE
    if record.is_file():
        try:
            saved = json.loads(record.read_text())
        except (OSError, ValueError) as error:
            raise ResultsMismatch(
                f"{record}: unreadable ({error}); delete it (or the folder) or pass another --name"
            ) from None
        differences = [
            f"{_LABELS[key]} {_describe(key, saved.get(key))} there, {_describe(key, metadata.get(key))} now"
            for key in IDENTITY_KEYS
            if saved.get(key) != metadata.get(key)
        ]
        if differences:
            raise ResultsMismatch(
                f"{folder} holds results of another run ({'; '.join(differences)}): pass another "
                f"--name, or delete {folder} to recompute them"
            )
        if saved.get("siamtrack") != metadata.get("siamtrack"):
            return [
                f"warning: {folder}: its results were computed by siamtrack {saved.get('siamtrack')}, this is "
                f"{metadata.get('siamtrack')}; they are reused"
            ]
        return []
    if folder.is_dir() and _holds_results(folder):
        if record.is_file():  # recorded (and results written) by another runner since the first look
            return claim_results_folder(root, name, metadata)
        return [
            f"warning: {folder} has no {RUN_FILE} (results of an older siamtrack): cannot check that its "
            "results come from this tracker, these parameters and weights; reusing them as they are"
        ]
    if not _create_exclusively(record, json.dumps(metadata, indent=2, sort_keys=True) + "\n"):
        return claim_results_folder(root, name, metadata)  # another runner recorded its run first: check against it
    return []


def _holds_results(folder: Path) -> bool:
    """Whether ``folder`` has files other than another runner's work in progress (claims, ``.*.tmp`` files being
    written), which say nothing about whose results are there."""
    return any(
        path.is_file() and not path.name.startswith(".") and ".claim" not in path.name for path in folder.rglob("*")
    )


__all__ = [
    "OnePassJob",
    "RUN_FILE",
    "ResultsMismatch",
    "SRE_SHIFTS",
    "SupervisedJob",
    "TrackerFactory",
    "as_factory",
    "claim_results_folder",
    "file_sha256",
    "image_size",
    "one_pass_jobs",
    "run_jobs",
    "run_metadata",
    "run_one_pass",
    "run_supervised",
    "supervised_jobs",
    "supervised_run",
]
