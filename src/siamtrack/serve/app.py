"""The HTTP layer of ``siamtrack serve``: two pages (tracking, reports) and a small JSON API behind them.

Every file it reads is one of: the bundled demo clip, the package's own pages, a file under one of the folders given
to ``serve`` (``--videos``, ``--results``, ``--root``), an upload or a run's output in the server's work folder.
Names from the page are paths relative to one of those folders, checked by :func:`safe_join` (no absolute path, no
``..``, no empty or ``.`` part, and the resolved path, symlinks followed, must still lie inside the folder).
Errors are JSON ``{"error": "..."}`` with a 4xx status, which the page shows; nothing a page sends stops the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from siamtrack.serve.jobs import Busy, Runner

STATIC = Path(__file__).resolve().parent / "static"
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")
MAX_TRACKERS = 2  # side by side
EVENT_INTERVAL = 0.05  # seconds between two looks at a run's progress in its event stream
KEEPALIVE = 2.0  # seconds between two comment lines when nothing is new (a closed page is noticed on write too)


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def safe_join(root: Path, relative: str, what: str = "path") -> Path:
    """``root / relative`` where ``relative`` is a plain relative path that stays inside ``root``, symlinks
    resolved; anything else is a 403 naming the value."""
    bad = HTTPError(403, f"{what} {relative!r} is not a file inside the folder given to siamtrack serve")
    if not relative or "\0" in relative or "\\" in relative or os.path.isabs(relative) or relative.startswith("/"):
        raise bad
    if any(part in ("", ".", "..") for part in relative.split("/")):
        raise bad
    base = Path(root).resolve()
    path = (base / relative).resolve()
    if path != base and base not in path.parents:
        raise bad  # a symlink pointing out of the folder
    return path


@dataclass
class ServeConfig:
    """What ``siamtrack serve`` was given."""

    videos: Path | None = None
    results: Path | None = None
    dataset: str | None = None
    root: Path | None = None
    options: dict = field(default_factory=dict)
    max_upload_mb: float = 200.0
    work_dir: Path | None = None  # uploads and run outputs (default: a new temporary folder, removed at shutdown)


def _video_size_error(path: Path) -> str | None:
    """``None`` when OpenCV reads a first frame from ``path``, else why not."""
    from siamtrack.data.sequence import VideoFile

    try:
        frames = VideoFile(str(path))
        if len(frames) < 1:
            return f"{path.name}: not a video OpenCV can read (no frames)"
        frames[0]
    except Exception as error:  # noqa: BLE001 - FrameReadError, cv2.error: any reason is the message
        return f"{path.name}: not a video OpenCV can read ({error})"
    return None


def create_app(config: ServeConfig) -> Starlette:
    """The Starlette application; ``app.state.runner`` is its one tracking worker."""
    from siamtrack.demo import DEMO_VIDEO

    owns_work_dir = config.work_dir is None
    work_dir = Path(config.work_dir or tempfile.mkdtemp(prefix="siamtrack-serve-"))
    uploads = work_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    runner = Runner(work_dir)
    max_upload = int(config.max_upload_mb * 1024 * 1024)
    dataset_cache: dict = {}

    # --- inputs -------------------------------------------------------------------------------------------------

    def video_path(video_id: str) -> tuple[Path, str]:
        """A video id of the page -> (file, label): ``demo``, ``videos/<path under --videos>``,
        ``uploads/<name>``."""
        if video_id == "demo":
            return DEMO_VIDEO, "the demo clip"
        kind, _, rest = (video_id or "").partition("/")
        if kind == "videos" and config.videos is not None:
            path = safe_join(config.videos, rest, "video")
        elif kind == "uploads":
            path = safe_join(uploads, rest, "video")
        else:
            raise HTTPError(404, f"unknown video {video_id!r}: 'demo', 'videos/<file>' or 'uploads/<file>'")
        if not path.is_file():
            raise HTTPError(404, f"video {video_id!r} does not exist")
        return path, video_id

    def json_error(error: HTTPError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status)

    def handler(function):
        async def wrapped(request: Request):
            try:
                return await function(request)
            except HTTPError as error:
                return json_error(error)

        return wrapped

    def param(request: Request, name: str) -> str:
        value = request.query_params.get(name)
        if value is None:
            raise HTTPError(400, f"missing query parameter {name!r}")
        return value

    def job_of(request: Request):
        job = runner.jobs.get(request.path_params["job"])
        if job is None:
            raise HTTPError(404, f"no run {request.path_params['job']!r} (finished runs are kept for a while only)")
        return job

    # --- pages --------------------------------------------------------------------------------------------------

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def reports_page(request: Request):
        return FileResponse(STATIC / "reports.html", media_type="text/html")

    # --- trackers and videos ------------------------------------------------------------------------------------

    async def trackers(request: Request):
        from siamtrack.trackers import DEFAULT_TRACKER, available_trackers
        from siamtrack.trackers.catalogue import entry

        items = []
        for name in available_trackers():
            item = entry(name)
            items.append(
                {"name": name, "paper": item.paper, "weights": item.weights_text(), "auc": item.auc, "fps": item.fps}
            )
        return JSONResponse({"default": DEFAULT_TRACKER, "trackers": items})

    async def videos(request: Request):
        items = [{"id": "demo", "label": "demo clip (bundled)"}]
        if config.videos is not None:
            base = Path(config.videos).resolve()
            for path in sorted(base.rglob("*")):
                if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
                    relative = path.relative_to(base).as_posix()
                    try:
                        safe_join(base, relative)
                    except HTTPError:
                        continue  # a symlink out of the folder is not offered (nor served)
                    items.append({"id": f"videos/{relative}", "label": relative})
        for path in sorted(uploads.iterdir(), key=lambda p: p.stat().st_mtime):
            items.append({"id": f"uploads/{path.name}", "label": f"upload: {path.name.split('-', 1)[-1]}"})
        return JSONResponse({"videos": items, "max_upload_mb": config.max_upload_mb})

    async def upload(request: Request):
        name = os.path.basename(request.query_params.get("name") or "video")
        suffix = Path(name).suffix.lower()
        declared = request.headers.get("content-length")
        too_big = HTTPError(
            413,
            f"{name}: the video is larger than the limit of {config.max_upload_mb:g} MB "
            "(siamtrack serve --max-upload-mb)",
        )
        if declared is not None and declared.isdigit() and int(declared) > max_upload:
            raise too_big
        safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-80:] or "video"
        path = uploads / f"{uuid.uuid4().hex[:8]}-{safe_name}"
        size = 0
        try:
            with open(path, "wb") as handle:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_upload:
                        raise too_big
                    handle.write(chunk)
            if size == 0:
                raise HTTPError(400, f"{name}: the file is empty")
            if suffix not in VIDEO_EXTENSIONS:
                raise HTTPError(400, f"{name}: not a video file (expected one of {', '.join(VIDEO_EXTENSIONS)})")
            reason = await asyncio.to_thread(_video_size_error, path)
            if reason is not None:
                raise HTTPError(400, reason.replace(path.name, name))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return JSONResponse({"id": f"uploads/{path.name}", "label": f"upload: {safe_name}"}, status_code=201)

    def video_info_sync(path: Path) -> dict:
        from siamtrack.data.sequence import VideoFile

        frames = VideoFile(str(path))
        height, width = frames[0].shape[:2]
        return {"width": int(width), "height": int(height), "frames": len(frames), "fps": frames.fps}

    async def video_info(request: Request):
        path, label = video_path(param(request, "video"))
        reason = await asyncio.to_thread(_video_size_error, path)
        if reason is not None:
            raise HTTPError(400, reason)
        info = await asyncio.to_thread(video_info_sync, path)
        return JSONResponse({"id": request.query_params["video"], "label": label, **info})

    async def video_frame(request: Request):
        from siamtrack.data.sequence import VideoFile

        path, _ = video_path(param(request, "video"))

        def first_frame() -> bytes:
            import cv2

            image = VideoFile(str(path))[0]
            return cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()

        try:
            data = await asyncio.to_thread(first_frame)
        except Exception as error:  # noqa: BLE001
            raise HTTPError(400, f"{path.name}: not a video OpenCV can read ({error})") from None
        return Response(data, media_type="image/jpeg")

    # --- runs ---------------------------------------------------------------------------------------------------

    async def start_job(request: Request):
        from siamtrack.integrations.video import parse_box
        from siamtrack.trackers import DEFAULT_TRACKER, available_trackers

        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPError(400, "the request body must be JSON: {video, box, trackers, max_frames}") from None
        if not isinstance(body, dict):
            raise HTTPError(400, "the request body must be a JSON object: {video, box, trackers, max_frames}")
        path, label = video_path(str(body.get("video", "demo")))
        box_value = body.get("box")
        if isinstance(box_value, (list, tuple)):
            box_value = ",".join(str(v) for v in box_value)
        try:
            box = parse_box(str(box_value))
        except ValueError:
            raise HTTPError(
                400,
                f"box must be x,y,w,h (4 finite numbers, w and h > 0), got {box_value!r}: draw "
                "the target's box on the first frame",
            ) from None
        reason = await asyncio.to_thread(_video_size_error, path)
        if reason is not None:
            raise HTTPError(400, reason)
        info = await asyncio.to_thread(video_info_sync, path)
        x, y, w, h = box
        if w < 1 or h < 1:
            raise HTTPError(400, f"box {w:g}x{h:g} is too small: draw a box at least 1 pixel wide and high")
        if x < 0 or y < 0 or x + w > info["width"] + 1e-6 or y + h > info["height"] + 1e-6:
            raise HTTPError(
                400,
                f"box {x:g},{y:g},{w:g},{h:g} is not inside the {info['width']}x{info['height']} "
                "frame: draw it on the target in the first frame",
            )
        names = body.get("trackers") or [DEFAULT_TRACKER]
        if isinstance(names, str):
            names = [names]
        known = available_trackers()
        unknown = [name for name in names if name not in known]
        if unknown or not 1 <= len(names) <= MAX_TRACKERS:
            raise HTTPError(400, f"trackers must be 1 or {MAX_TRACKERS} of {', '.join(known)}; got {names!r}")
        max_frames = body.get("max_frames")
        if max_frames in (None, "", 0):
            max_frames = None
        else:
            try:
                max_frames = int(max_frames)
                assert max_frames >= 1
            except (TypeError, ValueError, AssertionError):
                raise HTTPError(400, f"max_frames must be a positive integer, got {body.get('max_frames')!r}") from None
        try:
            job = runner.start(path, label, box, list(names), max_frames)
        except Busy as error:
            raise HTTPError(409, str(error)) from None
        return JSONResponse(job.describe(), status_code=202)

    async def job_status(request: Request):
        return JSONResponse(job_of(request).describe())

    async def stop_job(request: Request):
        job = job_of(request)
        job.stop("stopped from the page")
        return JSONResponse(job.describe())

    async def job_events(request: Request):
        """Server-sent events: ``progress`` (per lane: the new boxes, the newest frame as base64 JPEG with its
        index, frames done, fps) while the run goes, then one ``end`` with the run's description. Closing the
        stream (the tab closed, the page left) stops the run."""
        job = job_of(request)
        if job.attached:
            raise HTTPError(409, "this run's events are already streamed to another page")
        job.attached = True

        def collect(sent: list[int], shown: list[int]) -> list[dict]:
            updates = []
            with job.lock:
                for index, lane in enumerate(job.lanes):
                    update = {
                        "lane": index,
                        "tracker": lane.tracker,
                        "state": lane.state,
                        "frames": len(lane.boxes),
                        "fps": round(lane.fps, 2),
                        "boxes": lane.boxes[sent[index] :],
                        "first": sent[index],
                    }
                    if lane.latest is not None and lane.latest[0] != shown[index]:
                        update["frame"] = {
                            "index": lane.latest[0],
                            "jpeg": base64.b64encode(lane.latest[1]).decode("ascii"),
                        }
                        shown[index] = lane.latest[0]
                    if update["boxes"] or "frame" in update:
                        sent[index] = len(lane.boxes)
                        updates.append(update)
            return updates

        async def stream():
            sent, shown = [0] * len(job.lanes), [-1] * len(job.lanes)
            quiet = 0.0
            try:
                while True:
                    if await request.is_disconnected():  # the tab closed: noticed here as well as on write
                        return
                    finished = job.finished.is_set()
                    updates = collect(sent, shown)
                    for update in updates:
                        yield f"event: progress\ndata: {json.dumps(update)}\n\n"
                    if finished:
                        yield f"event: end\ndata: {json.dumps(job.describe())}\n\n"
                        return
                    quiet = 0.0 if updates else quiet + EVENT_INTERVAL
                    if quiet >= KEEPALIVE:
                        quiet = 0.0
                        yield ": still running\n\n"
                    await asyncio.sleep(EVENT_INTERVAL)
            finally:
                if not job.finished.is_set():
                    job.stop("the page closed its event stream")

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    async def job_file(request: Request):
        job = job_of(request)
        try:
            lane = job.lanes[int(request.path_params["lane"])]
        except (ValueError, IndexError):
            raise HTTPError(404, f"run {job.id} has no tracker number {request.path_params['lane']!r}") from None
        name = request.path_params["name"]
        files = lane.files()
        if name not in ("boxes.txt", "track.mp4"):
            raise HTTPError(404, f"{name!r}: a run has boxes.txt and track.mp4")
        if job.running:
            raise HTTPError(409, f"{name} is complete when the run ends: stop it or wait")
        if name not in files:
            raise HTTPError(404, f"{lane.tracker} wrote no {name} ({lane.message})")
        media = "text/plain" if name.endswith(".txt") else "video/mp4"
        return FileResponse(files[name], media_type=media, filename=name)

    # --- reports ------------------------------------------------------------------------------------------------

    def results_root() -> Path:
        if config.results is None:
            raise HTTPError(404, "no results folder: start siamtrack serve with --results DIR")
        return Path(config.results)

    async def reports(request: Request):
        if config.results is None:
            return JSONResponse({"reports": [], "note": "start siamtrack serve with --results DIR to see reports"})
        base = results_root().resolve()
        found = []
        for path in sorted(base.rglob("report.json")):
            relative = path.parent.relative_to(base).as_posix()
            if relative.count("/") > 3:
                continue
            try:
                safe_join(base, f"{relative}/report.json" if relative != "." else "report.json")
                report = json.loads(path.read_text())
            except (HTTPError, OSError, ValueError):
                continue
            found.append(
                {
                    "path": "" if relative == "." else relative,
                    "dataset": report.get("dataset", ""),
                    "sequences": report.get("sequences", []),
                    "experiments": list(report.get("results", {})),
                    "images": sorted(p.name for p in path.parent.glob("*.png")),
                }
            )
        return JSONResponse({"reports": found, "playback": config.dataset is not None})

    async def results_file(request: Request):
        path = safe_join(results_root(), param(request, "path"), "path")
        if not path.is_file():
            raise HTTPError(404, f"{request.query_params['path']!r}: no such file in the results folder")
        return FileResponse(path)

    def sequences_of() -> dict:
        if config.dataset is None or config.root is None:
            raise HTTPError(404, "no dataset: start siamtrack serve with --dataset NAME --root DIR to play sequences")
        if "sequences" not in dataset_cache:
            from siamtrack.data import load_dataset

            dataset_cache["sequences"] = {
                s.name: s for s in load_dataset(config.dataset, str(config.root), **config.options)
            }
        return dataset_cache["sequences"]

    def sequence_of(request: Request):
        name = param(request, "name")
        sequences = sequences_of()
        if name not in sequences:
            raise HTTPError(404, f"no sequence {name!r} in {config.dataset} at {config.root}")
        return sequences[name]

    async def sequences(request: Request):
        names = await asyncio.to_thread(lambda: list(sequences_of()))
        return JSONResponse({"dataset": config.dataset, "sequences": names})

    async def sequence_info(request: Request):
        from siamtrack.data.sequence import image_size
        from siamtrack.evaluation.results import ResultFileError, ope_paths, read_boxes

        sequence = await asyncio.to_thread(sequence_of, request)
        width, height = await asyncio.to_thread(image_size, sequence)
        tracks = {}
        if config.results is not None:
            base = results_root().resolve()
            for folder in sorted(p for p in base.iterdir() if p.is_dir()):
                boxes_path, _ = ope_paths(base, folder.name, sequence.name)
                if boxes_path.is_file() and base in boxes_path.resolve().parents:
                    try:
                        tracks[folder.name] = _json_boxes(read_boxes(boxes_path, len(sequence)))
                    except (ResultFileError, OSError, ValueError):
                        continue
        return JSONResponse(
            {
                "name": sequence.name,
                "frames": len(sequence),
                "width": width,
                "height": height,
                "ground_truth": _json_boxes(sequence.ground_truth),
                "trackers": tracks,
            }
        )

    async def sequence_frame(request: Request):
        import cv2

        sequence = await asyncio.to_thread(sequence_of, request)
        try:
            index = int(param(request, "index"))
            assert 0 <= index < len(sequence)
        except (ValueError, AssertionError):
            raise HTTPError(400, f"index must be 0..{len(sequence) - 1}") from None
        image = await asyncio.to_thread(sequence.frames.__getitem__, index)
        return Response(
            cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes(), media_type="image/jpeg"
        )

    routes = [
        Route("/", index),
        Route("/reports", reports_page),
        Route("/api/trackers", handler(trackers)),
        Route("/api/videos", handler(videos)),
        Route("/api/videos", handler(upload), methods=["POST"]),
        Route("/api/videos/info", handler(video_info)),
        Route("/api/videos/frame", handler(video_frame)),
        Route("/api/jobs", handler(start_job), methods=["POST"]),
        Route("/api/jobs/{job}", handler(job_status)),
        Route("/api/jobs/{job}/stop", handler(stop_job), methods=["POST"]),
        Route("/api/jobs/{job}/events", handler(job_events)),
        Route("/api/jobs/{job}/{lane}/{name}", handler(job_file)),
        Route("/api/reports", handler(reports)),
        Route("/api/results/file", handler(results_file)),
        Route("/api/sequences", handler(sequences)),
        Route("/api/sequences/info", handler(sequence_info)),
        Route("/api/sequences/frame", handler(sequence_frame)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:  # a running job is stopped (its files closed), then the work folder removed
            await asyncio.to_thread(runner.stop_all, "the server is shutting down")
            if owns_work_dir:
                shutil.rmtree(work_dir, ignore_errors=True)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runner, app.state.work_dir, app.state.config = runner, work_dir, config
    return app


def _json_boxes(boxes: np.ndarray) -> list:
    """Rows of ``x, y, w, h`` with ``None`` for NaN (an absent target)."""
    return [[None if not np.isfinite(v) else round(float(v), 3) for v in row] for row in np.asarray(boxes)]
