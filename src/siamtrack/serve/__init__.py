"""``siamtrack serve``: a local web page to pick a target with the mouse, watch it tracked, and browse reports.

Two pages, served from this machine only (127.0.0.1 by default; nothing opens a browser):

* ``/``: choose a video (the bundled demo clip, a video of ``--videos``, or an upload up to ``--max-upload-mb``),
  draw the target's box on the first frame, pick one tracker or two side by side, start; the frames stream back with
  the boxes as they are computed (server-sent events) and the fps; stop at any time; download ``boxes.txt`` and the
  H.264 ``track.mp4``, written by :func:`siamtrack.integrations.video.track_to_folder`, the code of
  ``siamtrack track`` (:mod:`siamtrack.serve.jobs`).
* ``/reports``: the reports found under ``--results`` (the ``report.json`` + PNG folders that ``siamtrack report``
  and ``eval --report`` write: success / precision plots, the per-sequence table, the attribute plots), and, with
  ``--dataset NAME --root DIR``, one sequence played with its ground truth and each result folder's boxes.

Framework: Starlette with uvicorn (the optional extra ``siamtrack[serve]``). Starlette is the small ASGI toolkit
under FastAPI, kept up by the Encode team, with streaming responses (the live boxes) and a test client, and nothing
else this needs; uvicorn is its usual server. Tracking runs in a thread (one run at a time,
:class:`siamtrack.serve.jobs.Runner`), so the server answers while a tracker works.
"""

from __future__ import annotations

import socket

from siamtrack.serve.app import HTTPError, ServeConfig, create_app, safe_join


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 8765, announce=print) -> None:
    """Serve until Ctrl-C. ``port=0`` takes a free port; ``announce`` gets the URL line once listening."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{bound_port}/"
    announce(f"siamtrack serve: {url} (tracking), {url}reports (reports); Ctrl-C stops")
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", timeout_graceful_shutdown=5))
    server.run(sockets=[sock])


__all__ = ["HTTPError", "ServeConfig", "create_app", "safe_join", "serve"]
