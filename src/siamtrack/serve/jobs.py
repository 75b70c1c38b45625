"""Tracking runs of ``siamtrack serve``: one run at a time, one or two trackers ("lanes") on the same video and box.

Each lane runs :func:`siamtrack.integrations.video.track_to_folder` (the very code of ``siamtrack track``, so its
``boxes.txt`` and H.264 ``track.mp4`` are the same files) in a thread, with two thin wrappers around it:

* the tracker is wrapped by :class:`_Reporting`, which publishes each box (and the frame as a JPEG) as soon as the
  tracker returns it, for the page's event stream;
* the frames are wrapped by :meth:`Job._frames`, which ends the frames early when the run is stopped (the stop
  button, the page's event stream closing, or no page attaching within :data:`ATTACH_TIMEOUT` seconds): the run then
  finishes as ``track_to_folder`` finishes any short video, with its files closed and playable.

:class:`Runner` holds at most one job that is running; a second start while one runs is refused (:class:`Busy`),
never mixed. Finished jobs keep their files (the newest :data:`KEEP_JOBS`) under the server's work folder.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# seconds a started run waits for a page to attach to its event stream before it stops itself (a tab closed
# between "start" and the stream opening must not leave the worker busy)
ATTACH_TIMEOUT = 15.0
# finished jobs whose files are kept for download (older ones are deleted)
KEEP_JOBS = 8
JPEG_QUALITY = 85


class Busy(RuntimeError):
    """A run is in progress: runs are one at a time."""


@dataclass
class Lane:
    """One tracker of a job: its output folder, the boxes so far, the newest frame as JPEG, its state."""

    tracker: str
    out_dir: Path
    boxes: list = field(default_factory=list)
    latest: tuple[int, bytes] | None = None  # (frame index, JPEG)
    state: str = "queued"  # queued, running, finished, stopped, error
    message: str = ""
    started: float = 0.0
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return len(self.boxes) / self.seconds if self.seconds > 0 and self.boxes else 0.0

    def files(self) -> dict[str, Path]:
        return {name: self.out_dir / name for name in ("boxes.txt", "track.mp4") if (self.out_dir / name).is_file()}


class _Reporting:
    """A tracker that publishes each result to its lane (all other attributes are the tracker's own)."""

    def __init__(self, tracker, lane: Lane, lock: threading.Lock):
        self._tracker, self._lane, self._lock = tracker, lane, lock

    def __getattr__(self, name):
        return getattr(self._tracker, name)

    def _publish(self, image: np.ndarray, box) -> None:
        import cv2

        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        with self._lock:
            index = len(self._lane.boxes)
            self._lane.boxes.append([float(v) for v in np.asarray(box, dtype=np.float64)])
            if ok:
                self._lane.latest = (index, jpeg.tobytes())
            self._lane.seconds = time.perf_counter() - self._lane.started

    def init(self, image, box):
        result = self._tracker.init(image, box)
        self._publish(image, box)
        return result

    def update(self, image):
        result = self._tracker.update(image)
        self._publish(image, result)
        return result


class Job:
    """One run: ``trackers`` (one or two names) on ``video`` from ``box`` (0-based x, y, w, h), at most
    ``max_frames`` frames; files under ``jobs_root/<job id>/<lane index>/``."""

    def __init__(
        self,
        video: Path,
        video_label: str,
        box: np.ndarray,
        trackers: list[str],
        jobs_root: Path,
        max_frames: int | None = None,
    ):
        self.id = uuid.uuid4().hex[:12]
        self.video, self.video_label, self.box, self.max_frames = video, video_label, box, max_frames
        self.out_dir = Path(jobs_root) / self.id
        self.lanes = [Lane(name, self.out_dir / str(index)) for index, name in enumerate(trackers)]
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.finished = threading.Event()
        self.created = time.monotonic()
        self.attached = False
        self.stop_reason = ""
        self._threads: list[threading.Thread] = []

    def stop(self, reason: str) -> None:
        if not self.stop_event.is_set():
            self.stop_reason = reason
            self.stop_event.set()

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def _frames(self, frames):
        for image in frames:
            if not self.attached and time.monotonic() - self.created > ATTACH_TIMEOUT:
                self.stop(f"no page attached to the run within {ATTACH_TIMEOUT:g} s")
            if self.stop_event.is_set():
                return
            yield image

    def _run_lane(self, lane: Lane) -> None:
        from siamtrack.data.sequence import VideoFile
        from siamtrack.integrations.video import TrackingStopped, track_to_folder
        from siamtrack.trackers import build_tracker

        lane.state, lane.started = "running", time.perf_counter()
        try:
            tracker = build_tracker(lane.tracker)
            frames = VideoFile(str(self.video))
            lane.started = time.perf_counter()  # fps: tracking (and JPEG/MP4 writing), not building the tracker
            track_to_folder(
                _Reporting(tracker, lane, self.lock),
                self._frames(frames),
                self.box,
                lane.out_dir,
                fps=frames.fps or 30.0,
                max_frames=self.max_frames,
            )
            lane.state = "stopped" if self.stop_event.is_set() else "finished"
            lane.message = (
                f"stopped after {len(lane.boxes)} frames: {self.stop_reason}"
                if lane.state == "stopped"
                else f"{len(lane.boxes)} frames tracked"
            )
        except TrackingStopped as error:  # a frame or the tracker failed midway: the files hold the frames so far
            lane.state, lane.message = "error", str(error)
        except Exception as error:  # noqa: BLE001 - shown on the page; the server goes on
            if self.stop_event.is_set() and not lane.boxes:  # stopped before the first frame: no files
                lane.state, lane.message = "stopped", f"stopped before the first frame: {self.stop_reason}"
                return
            lane.state = "error"
            lane.message = f"{type(error).__name__}: {error.args[0] if isinstance(error, KeyError) else error}"
        finally:
            lane.seconds = time.perf_counter() - lane.started

    def start(self, on_finish) -> None:
        """Run every lane in its own thread; ``on_finish(job)`` is called once, when all have ended."""
        self._threads = [
            threading.Thread(target=self._run_lane, args=(lane,), name=f"siamtrack-serve-{self.id}-{i}", daemon=True)
            for i, lane in enumerate(self.lanes)
        ]

        def watch():
            for thread in self._threads:
                thread.start()
            for thread in self._threads:
                thread.join()
            self.finished.set()
            on_finish(self)

        threading.Thread(target=watch, name=f"siamtrack-serve-{self.id}", daemon=True).start()

    def threads_alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def describe(self) -> dict:
        with self.lock:
            return {
                "id": self.id,
                "video": self.video_label,
                "box": [float(v) for v in self.box],
                "max_frames": self.max_frames,
                "running": self.running,
                "lanes": [
                    {
                        "tracker": lane.tracker,
                        "state": lane.state,
                        "message": lane.message,
                        "frames": len(lane.boxes),
                        "fps": round(lane.fps, 2),
                        "files": sorted(lane.files()),
                    }
                    for lane in self.lanes
                ],
            }


class Runner:
    """At most one running job; :meth:`start` raises :class:`Busy` while one runs."""

    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir)
        self.jobs: dict[str, Job] = {}
        self.current: Job | None = None
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self.current is not None

    def start(
        self, video: Path, video_label: str, box: np.ndarray, trackers: list[str], max_frames: int | None = None
    ) -> Job:
        with self._lock:
            if self.current is not None:
                running = self.current
                raise Busy(
                    f"a tracking run is in progress ({', '.join(l.tracker for l in running.lanes)} on "
                    f"{running.video_label}): runs are one at a time; stop it or wait for it to finish"
                )
            job = Job(video, video_label, box, trackers, self.work_dir / "jobs", max_frames)
            self.current = job
            self.jobs[job.id] = job
            self._forget_old_jobs()
        job.start(self._finished)
        return job

    def _finished(self, job: Job) -> None:
        with self._lock:
            if self.current is job:
                self.current = None

    def _forget_old_jobs(self) -> None:
        finished = [job for job in self.jobs.values() if not job.running and job is not self.current]
        for job in finished[: max(len(finished) - KEEP_JOBS, 0)]:
            del self.jobs[job.id]
            shutil.rmtree(job.out_dir, ignore_errors=True)

    def stop_all(self, reason: str, timeout: float = 10.0) -> None:
        """Stop the running job (server shutdown) and wait for its threads."""
        job = self.current
        if job is not None:
            job.stop(reason)
            job.finished.wait(timeout)
