"""``siamtrack serve``, its HTTP layer through Starlette's test client and a real uvicorn server: bad inputs get a
clear message and the server goes on, one run at a time, a closed page stops its run, nothing outside the folders
given to it can be read, and the reports API. The page itself in Chromium: tests/serve/test_serve_browser.py."""

from __future__ import annotations

import http.client
import shutil
import threading
import time

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient

from serve_support import FRAMES, SHIFTS, LiveServer, sse_events, tiny_results
from siamtrack.demo import DEMO_VIDEO
from siamtrack.serve import ServeConfig, create_app

SECRET = "top secret, outside every folder given to serve"
BOX = [100, 80, 50, 40]  # inside the demo clip's 320x240 first frame


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """videos/ (a copy of the demo clip, a text file named .mp4, a symlink to a video outside), results/ (a report
    and two trackers' boxes, a symlink to a file outside), data/ (the tiny dataset), and the secrets outside."""
    root = tmp_path_factory.mktemp("serve")
    made = tiny_results(root)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    shutil.copy(DEMO_VIDEO, outside / "secret.mp4")
    videos = root / "videos"
    (videos / "sub").mkdir(parents=True)
    shutil.copy(DEMO_VIDEO, videos / "sub" / "clip.mp4")
    (videos / "notes.mp4").write_text("this is not a video")
    (videos / "escape.mp4").symlink_to(outside / "secret.mp4")
    (made["results"] / "escape.txt").symlink_to(outside / "secret.txt")
    return {**made, "videos": videos, "outside": outside}


@pytest.fixture()
def app(folders, tmp_path):
    return create_app(
        ServeConfig(
            videos=folders["videos"],
            results=folders["results"],
            dataset="folder",
            root=folders["data"],
            max_upload_mb=1.0,
            work_dir=tmp_path / "work",
        )
    )


@pytest.fixture()
def client(app):
    with TestClient(app) as client:
        yield client


def wait_free(app, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while app.state.runner.busy:
        assert time.monotonic() < deadline, "the tracking worker is still busy"
        time.sleep(0.05)


def start(client, **fields):
    return client.post("/api/jobs", json={"video": "demo", "box": BOX, "trackers": ["opencv-csrt"], **fields})


# --- pages and listings ------------------------------------------------------------------------------------------


def test_pages_trackers_and_videos(client):
    from siamtrack.trackers import DEFAULT_TRACKER, available_trackers

    page = client.get("/")
    assert page.status_code == 200 and 'id="first"' in page.text and "EventSource" in page.text
    assert 'id="report"' in client.get("/reports").text
    trackers = client.get("/api/trackers").json()
    assert trackers["default"] == DEFAULT_TRACKER
    assert [t["name"] for t in trackers["trackers"]] == available_trackers()
    ids = [v["id"] for v in client.get("/api/videos").json()["videos"]]
    assert ids[0] == "demo" and "videos/sub/clip.mp4" in ids and "videos/notes.mp4" in ids
    assert "videos/escape.mp4" not in ids  # a symlink out of --videos is not offered
    info = client.get("/api/videos/info", params={"video": "videos/sub/clip.mp4"}).json()
    assert (info["width"], info["height"], info["frames"]) == (320, 240, 150)
    frame = cv2.imdecode(
        np.frombuffer(client.get("/api/videos/frame", params={"video": "demo"}).content, np.uint8), cv2.IMREAD_COLOR
    )
    assert frame.shape == (240, 320, 3)


# --- a run: events, files, the same files as track_to_folder ----------------------------------------------------


def test_a_run_streams_its_boxes_and_writes_the_files_of_siamtrack_track(client, app, tmp_path):
    from siamtrack.data.sequence import VideoFile
    from siamtrack.integrations.video import track_to_folder
    from siamtrack.trackers import build_tracker

    job = start(client, max_frames=6, trackers=["opencv-csrt", "opencv-kcf"])
    assert job.status_code == 202, job.text
    job = job.json()
    events = sse_events(client.get(f"/api/jobs/{job['id']}/events").text)
    assert events[-1][0] == "end" and [e for e, _ in events[:-1]] == ["progress"] * (len(events) - 1)
    end = events[-1][1]
    assert [lane["state"] for lane in end["lanes"]] == ["finished", "finished"]
    assert [lane["frames"] for lane in end["lanes"]] == [6, 6]
    for index, tracker in enumerate(("opencv-csrt", "opencv-kcf")):
        streamed = {}
        for _, update in events[:-1]:
            if update["lane"] == index:
                streamed.update({update["first"] + k: box for k, box in enumerate(update["boxes"])})
                if "frame" in update:
                    jpeg = np.frombuffer(__import__("base64").b64decode(update["frame"]["jpeg"]), np.uint8)
                    assert cv2.imdecode(jpeg, cv2.IMREAD_COLOR).shape == (240, 320, 3)
        assert sorted(streamed) == list(range(6)) and streamed[0] == BOX
        served = client.get(f"/api/jobs/{job['id']}/{index}/boxes.txt")
        assert served.status_code == 200 and 'filename="boxes.txt"' in served.headers["content-disposition"]
        expected = tmp_path / tracker
        track_to_folder(
            build_tracker(tracker), VideoFile(str(DEMO_VIDEO)), np.array(BOX, float), expected, fps=25.0, max_frames=6
        )
        assert served.text == (expected / "boxes.txt").read_text()  # the code of siamtrack track, the same file
        np.testing.assert_allclose(
            np.loadtxt(served.text.splitlines(), delimiter=","), [streamed[k] for k in range(6)], atol=6e-5
        )
        video = client.get(f"/api/jobs/{job['id']}/{index}/track.mp4")
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        path = tmp_path / f"{index}.mp4"
        path.write_bytes(video.content)
        import av

        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert sum(1 for _ in container.decode(video=0)) == 6
    assert not app.state.runner.busy


# --- bad input: a clear message, and the server goes on ---------------------------------------------------------


@pytest.mark.parametrize(
    "box, message",
    [
        ([100, 80, 0, 40], "w and h > 0"),
        ([100, 80, 50, -3], "w and h > 0"),
        ([100, 80, 0.4, 40], "too small"),
        ([300, 80, 50, 40], "not inside the 320x240 frame"),
        ([-5, 80, 50, 40], "not inside"),
        ([100, 220, 50, 40], "not inside"),
        (None, "draw the target's box"),
        ("1,2,3", "x,y,w,h"),
    ],
)
def test_a_bad_box_is_refused_with_a_message(client, app, box, message):
    response = start(client, box=box)
    assert response.status_code == 400 and message in response.json()["error"]
    assert not app.state.runner.busy and not app.state.runner.jobs


def test_bad_requests_are_refused_with_a_message(client):
    for body, message in [
        ({"trackers": ["no-such"]}, "trackers must be 1 or 2 of"),
        ({"trackers": ["dcfnet"] * 3}, "trackers must be 1 or 2"),
        ({"max_frames": -1}, "max_frames must be a positive integer"),
        ({"video": "videos/notes.mp4"}, "notes.mp4: not a video OpenCV can read"),
        ({"video": "elsewhere/x.mp4"}, "unknown video"),
    ]:
        response = start(client, **body)
        assert response.status_code in (400, 404) and message in response.json()["error"], (body, response.text)
    response = client.post("/api/jobs", content=b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.get("/api/jobs/nope/0/boxes.txt").status_code == 404


def test_uploads_not_a_video_too_large_then_a_video(client):
    response = client.post("/api/videos", params={"name": "holiday.mp4"}, content=b"GIF89a not really a video" * 10)
    assert response.status_code == 400 and "holiday.mp4: not a video OpenCV can read" in response.json()["error"]
    response = client.post("/api/videos", params={"name": "notes.txt"}, content=b"hello")
    assert response.status_code == 400 and "not a video file" in response.json()["error"]
    response = client.post("/api/videos", params={"name": "big.mp4"}, content=b"\0" * (1024 * 1024 + 1))
    assert response.status_code == 413 and "larger than the limit of 1 MB" in response.json()["error"]
    assert "--max-upload-mb" in response.json()["error"]

    def chunks():  # no Content-Length: the limit is counted as the bytes arrive
        for _ in range(5):
            yield b"\0" * (300 * 1024)

    response = client.post("/api/videos", params={"name": "big2.mp4"}, content=chunks())
    assert response.status_code == 413
    assert not any((client.app.state.work_dir / "uploads").iterdir())  # nothing refused is kept
    response = client.post("/api/videos", params={"name": "my clip.mp4"}, content=DEMO_VIDEO.read_bytes())
    assert response.status_code == 201, response.text
    video = response.json()["id"]
    assert video in [v["id"] for v in client.get("/api/videos").json()["videos"]]
    assert client.get("/api/videos/info", params={"video": video}).json()["frames"] == 150


# --- one run at a time -------------------------------------------------------------------------------------------


def test_a_second_run_is_refused_while_one_runs_and_stop_frees_the_worker(client, app):
    first = start(client)
    assert first.status_code == 202
    second = start(client, trackers=["opencv-kcf"])
    assert second.status_code == 409 and "one at a time" in second.json()["error"]
    stopped = client.post(f"/api/jobs/{first.json()['id']}/stop")
    assert stopped.status_code == 200
    job = app.state.runner.jobs[first.json()["id"]]
    assert job.finished.wait(20) and not job.threads_alive()
    wait_free(app)
    lane = client.get(f"/api/jobs/{job.id}").json()["lanes"][0]
    assert lane["state"] == "stopped" and "stopped from the page" in lane["message"]
    assert lane["frames"] < 150 and lane["files"] == ["boxes.txt", "track.mp4"]
    boxes = client.get(f"/api/jobs/{job.id}/0/boxes.txt").text.splitlines()
    assert len(boxes) == lane["frames"]  # the files hold exactly the frames done
    third = start(client, max_frames=2)
    assert third.status_code == 202  # the worker is free again
    assert sse_events(client.get(f"/api/jobs/{third.json()['id']}/events").text)[-1][1]["lanes"][0]["frames"] == 2


def test_two_pages_starting_at_once_get_one_run(app):
    """Eight threads post at the same moment: exactly one run starts, the others are told why."""
    with TestClient(app) as client:
        barrier, answers = threading.Barrier(8), []

        def post():
            barrier.wait()
            answers.append(start(client))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [202] + [409] * 7
        job = next(a for a in answers if a.status_code == 202).json()
        client.post(f"/api/jobs/{job['id']}/stop")
        wait_free(app)
        assert len(app.state.runner.jobs) == 1


# --- the page goes away mid-run -----------------------------------------------------------------------------------


def test_a_closed_page_stops_its_run_and_frees_the_worker(app):
    before = {t.name for t in threading.enumerate()}
    with LiveServer(app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        connection.request("POST", "/api/jobs", body=f'{{"video": "demo", "box": {BOX}, "trackers": ["opencv-csrt"]}}')
        job = __import__("json").loads(connection.getresponse().read())
        connection.request("GET", f"/api/jobs/{job['id']}/events")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
        assert response.read(40).startswith(b"event: progress")  # boxes arrive ...
        connection.sock.shutdown(2)  # ... and the tab is closed
        connection.close()
        run = app.state.runner.jobs[job["id"]]
        assert run.finished.wait(20), "the run went on after its page closed"
        wait_free(app)
        assert not run.threads_alive()
        lane = run.describe()["lanes"][0]
        assert lane["state"] == "stopped" and "closed its event stream" in lane["message"], lane
        assert 1 <= lane["frames"] < 150
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        connection.request(
            "POST", "/api/jobs", body=f'{{"video": "demo", "box": {BOX}, "trackers": ["opencv-csrt"], "max_frames": 2}}'
        )
        assert connection.getresponse().status == 202  # the worker takes a new run
        connection.close()
        wait_free(app)
    leftover = {t.name for t in threading.enumerate()} - before
    assert not [name for name in leftover if name.startswith("siamtrack-serve")], leftover


def test_a_run_no_page_attaches_to_stops_itself(app, monkeypatch):
    from siamtrack.serve import jobs

    monkeypatch.setattr(jobs, "ATTACH_TIMEOUT", 0.0)
    with TestClient(app) as client:
        job = start(client).json()
        wait_free(app)
        lane = client.get(f"/api/jobs/{job['id']}").json()["lanes"][0]
        assert lane["state"] == "stopped" and "no page attached" in lane["message"]


# --- nothing outside the folders given to serve ------------------------------------------------------------------

TRAVERSALS = [
    "../outside/secret.txt",
    "../../etc/passwd",
    "/etc/passwd",
    "report/../../outside/secret.txt",
    "escape.txt",
    "report//report.json",
    "./report/report.json",
    "report\\..\\..\\outside\\secret.txt",
    "%2e%2e/outside/secret.txt",
    "",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_results_files_cannot_leave_the_results_folder(client, path):
    response = client.get("/api/results/file", params={"path": path})
    assert response.status_code in (403, 404), path
    assert SECRET not in response.text and "root:" not in response.text
    assert "error" in response.json()


@pytest.mark.parametrize(
    "video",
    [
        "videos/../outside/secret.mp4",
        "videos/../../outside/secret.mp4",
        "videos//etc/passwd",
        "videos/escape.mp4",
        "uploads/../videos/sub/clip.mp4",
        "/etc/passwd",
        "../outside/secret.mp4",
        "videos/sub/../../outside/secret.mp4",
    ],
)
def test_videos_cannot_leave_their_folders(client, video):
    for url in ("/api/videos/info", "/api/videos/frame"):
        response = client.get(url, params={"video": video})
        assert response.status_code in (403, 404) and "error" in response.json(), (url, video)
    response = start(client, video=video)
    assert response.status_code in (403, 404), video


def test_encoded_and_raw_traversal_on_the_wire(app, folders):
    """Requests sent byte for byte (no client normalises them): encoded dots and slashes, raw ``..``."""
    with LiveServer(app) as server:
        for target in [
            "/api/results/file?path=%2e%2e%2foutside%2fsecret.txt",
            "/api/results/file?path=%2E%2E/%2E%2E/etc/passwd",
            "/api/results/file?path=report%2f..%2f..%2foutside%2fsecret.txt",
            "/api/results/file?path=%252e%252e%252foutside%252fsecret.txt",
            "/api/videos/frame?video=videos%2f%2e%2e%2f..%2foutside%2fsecret.mp4",
            "/../../outside/secret.txt",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/api/results/../../etc/passwd",
        ]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
            connection.putrequest("GET", target, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status in (400, 403, 404), target
            assert SECRET.encode() not in body and b"root:" not in body, target
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        connection.request("GET", "/api/results/file?path=report%2freport.json")
        assert connection.getresponse().status == 200  # an encoded path inside the folder is served
        connection.close()


# --- reports ------------------------------------------------------------------------------------------------------


def test_reports_and_one_sequence_played_with_every_trackers_boxes(client, folders):
    reports = client.get("/api/reports").json()
    assert reports["playback"] is True
    assert [r["path"] for r in reports["reports"]] == ["report"]
    report = reports["reports"][0]
    assert report["sequences"] == ["clip"] and report["experiments"] == ["ope"]
    assert {"ope_success.png", "ope_precision.png", "ope_attributes.png"} <= set(report["images"])
    plot = client.get("/api/results/file", params={"path": "report/ope_success.png"})
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    data = client.get("/api/results/file", params={"path": "report/report.json"}).json()
    assert (
        data["results"]["ope"]["alpha"]["per_sequence"]["clip"]["auc"]
        > data["results"]["ope"]["beta"]["per_sequence"]["clip"]["auc"]
    )
    assert client.get("/api/sequences").json()["sequences"] == ["clip"]
    info = client.get("/api/sequences/info", params={"name": "clip"}).json()
    assert (info["frames"], info["width"], info["height"]) == (FRAMES, 128, 96)
    np.testing.assert_allclose(info["ground_truth"], folders["truth"])
    assert sorted(info["trackers"]) == sorted(SHIFTS)
    for name, shift in SHIFTS.items():
        np.testing.assert_allclose(info["trackers"][name], folders["truth"] + [shift, 0, 0, 0])
    frame = client.get("/api/sequences/frame", params={"name": "clip", "index": 3})
    image = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (96, 128, 3)
    assert client.get("/api/sequences/frame", params={"name": "clip", "index": FRAMES}).status_code == 400
    assert client.get("/api/sequences/info", params={"name": "../data"}).status_code == 404


def test_without_results_or_dataset_the_reports_page_says_what_to_pass(tmp_path):
    with TestClient(create_app(ServeConfig(work_dir=tmp_path))) as client:
        assert "--results DIR" in client.get("/api/reports").json()["note"]
        assert "--results DIR" in client.get("/api/results/file", params={"path": "x"}).json()["error"]
        assert "--dataset NAME --root DIR" in client.get("/api/sequences").json()["error"]


# --- the command --------------------------------------------------------------------------------------------------


def test_serve_without_the_extra_says_which_extra(monkeypatch, capsys):
    import importlib.util

    from siamtrack import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert cli.main(["serve"]) == 2
    assert "needs the 'serve' extra (uvicorn not installed): pip install 'siamtrack[serve]'" in capsys.readouterr().err


def test_serve_refuses_folders_that_do_not_exist(capsys, tmp_path):
    from siamtrack import cli

    assert cli.main(["serve", "--videos", str(tmp_path / "nope")]) == 2
    assert f"--videos {tmp_path / 'nope'}: not a folder" in capsys.readouterr().err
    assert cli.main(["serve", "--dataset", "folder"]) == 2
    assert "--dataset and --root go together" in capsys.readouterr().err
