"""Helpers of the ``siamtrack serve`` tests (tests/serve/test_serve*.py): a tiny folder
dataset with two trackers' result files and the report ``siamtrack report`` writes for them, a real uvicorn server
in a thread, and a server-sent-events parser."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from tracking_support import moving_square

FRAMES, WIDTH, HEIGHT = 8, 128, 96
# the boxes of the two fake trackers: the ground truth shifted by 0 and by 6 pixels
SHIFTS = {"alpha": 0.0, "beta": 6.0}


def tiny_results(root: Path) -> dict:
    """``root/data/clip`` (a folder dataset: 8 PNGs, 1-based ground truth), ``root/results/<alpha|beta>/clip.txt``
    and ``root/results/report`` (report.json, report.md, PNG plots: what ``siamtrack report`` writes, here by its
    functions). Returns the paths and the 0-based ground truth."""
    from siamtrack.data import load_dataset
    from siamtrack.evaluation import build_report, write_report
    from siamtrack.evaluation.results import ope_paths, write_one_pass

    images, truth = moving_square(FRAMES, WIDTH, HEIGHT)
    frames_dir = root / "data" / "clip" / "img"
    frames_dir.mkdir(parents=True)
    for index, image in enumerate(images):
        cv2.imwrite(str(frames_dir / f"{index + 1:04d}.png"), image)
    (root / "data" / "clip" / "groundtruth.txt").write_text(
        "\n".join(f"{x + 1:g},{y + 1:g},{w:g},{h:g}" for x, y, w, h in truth) + "\n"
    )
    results = root / "results"
    for name, shift in SHIFTS.items():
        boxes_path, times_path = ope_paths(results, name, "clip")
        write_one_pass(boxes_path, times_path, truth + [shift, 0, 0, 0], np.full(FRAMES, 0.01))
    sequences = load_dataset("folder", str(root / "data"))
    for sequence in sequences:
        sequence.attributes = ("OCC", "SV")  # so that the report has its attribute plot
    write_report(build_report(results, list(SHIFTS), sequences, "otb", ("ope",), dataset="folder"), results / "report")
    return {"data": root / "data", "results": results, "truth": truth}


class LiveServer:
    """The app on a real uvicorn server in a thread (for what Starlette's test client cannot do: a client that
    goes away mid-stream, raw request paths); ``with LiveServer(app) as server: server.url``."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()


def sse_events(text: str) -> list[tuple[str, dict]]:
    """``(event, data)`` of each server-sent event in ``text`` (comment lines skipped)."""
    events = []
    for block in text.split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if name is not None:
            events.append((name, data))
    return events
