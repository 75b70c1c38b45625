"""Two runners on one results folder share the work: every run is done once, by one of them, and both finish with
every result (each run is claimed atomically; a dead runner's claim is taken over)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from siamtrack.evaluation.runner import _claim_path, claim, one_pass_jobs, release

TESTS = Path(__file__).resolve().parent


def test_two_runners_share_a_results_folder(tmp_path):
    root, log = tmp_path / "results", tmp_path / "log"
    code = f"import sharing_support as s; s.run({str(root)!r}, {str(log)!r})"
    # this folder (sharing_support) and tests/ (training_support, which it imports)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)]), "OMP_NUM_THREADS": "1"}
    runners = [
        subprocess.Popen([sys.executable, "-c", code], env=environment, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for runner in runners:
        assert runner.wait(timeout=240) == 0, runner.stderr.read()[-2000:]
    results = sorted(p.name for p in (root / "still").glob("*.txt"))
    assert results == sorted(f"s{i}.txt" for i in range(8))
    inits = sorted(p.name for p in log.iterdir())
    assert len(inits) == 8  # each sequence tracked exactly once
    per_runner = {name.split("-")[0] for name in inits}
    assert len(per_runner) == 2  # and both runners did some of it
    assert not list(root.rglob("*.claim"))  # every claim released


def test_a_dead_runners_claim_is_taken_over_and_a_live_one_is_not(tmp_path):
    import sharing_support

    job = one_pass_jobs(sharing_support.sequences(1), tmp_path, "still")[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = _claim_path(job)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "time": 0.0}))
    assert claim(job)  # stale: its process is gone
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not claim(job)  # held by a live process (this one): not taken twice
    release(job)
    assert not path.exists() and claim(job)


def test_a_deleted_times_file_makes_its_run_go_again(tmp_path):
    import sharing_support
    from siamtrack.evaluation.runner import run_one_pass

    log = tmp_path / "log"
    factory = ("sharing_support:LoggingStillTracker", {"log": str(log), "delay": 0.0})
    sequences = sharing_support.sequences(2, 5)
    run_one_pass(factory, sequences, tmp_path, "still", progress=False)
    times = tmp_path / "still" / "times" / "s1_time.txt"
    assert times.exists() and len(list(log.iterdir())) == 2
    times.unlink()
    written = run_one_pass(factory, sequences, tmp_path, "still", progress=False)
    assert times.exists() and [Path(p).name for p in written] == ["s1.txt"]
    assert len(list(log.iterdir())) == 3  # s1 tracked again, s0 not


def test_a_claim_being_written_is_not_taken_over_but_a_long_unreadable_one_is(tmp_path):
    """A claim file exists empty for a moment before its holder writes it; another runner reading it then must not
    take the run (two runners tracked one sequence that way), unless it stays unreadable past the grace period."""
    import sharing_support
    from siamtrack.evaluation.runner import CLAIM_WRITE_GRACE

    job = one_pass_jobs(sharing_support.sequences(1), tmp_path, "still")[0]
    path = _claim_path(job)
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert not claim(job)
    assert path.read_text() == ""  # left for its writer
    old = path.stat().st_mtime - CLAIM_WRITE_GRACE - 1
    os.utime(path, (old, old))
    assert claim(job)
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_taking_over_a_stale_claim_gives_back_a_live_one_found_in_its_place(tmp_path):
    """Between reading a stale claim and removing it, another runner can have replaced it with its own: the live one
    is put back, not deleted."""
    import sharing_support
    from siamtrack.evaluation.runner import _remove_stale_claim

    job = one_pass_jobs(sharing_support.sequences(1), tmp_path, "still")[0]
    path = _claim_path(job)
    path.parent.mkdir(parents=True)
    live = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": 0.0})
    path.write_text(live)
    _remove_stale_claim(path)  # as if read stale a moment ago
    assert path.read_text() == live and [p.name for p in path.parent.iterdir()] == [path.name]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "time": 0.0}))
    _remove_stale_claim(path)
    assert not list(path.parent.iterdir())


def test_a_results_folder_with_only_another_runners_work_in_progress_is_not_an_older_one(tmp_path):
    """A second runner can find the folder after the first created it and before its run.json is in place (a claim,
    run.json's temporary file): that is not a folder of an older siamtrack, so no warning, and the run is recorded."""
    from siamtrack.evaluation.runner import claim_results_folder

    folder = tmp_path / "dcfnet"
    folder.mkdir()
    (folder / "DragonBaby.txt.claim").write_text("")
    (folder / ".run.json.123.new").write_text("{")
    metadata = {"tracker": "dcfnet", "params": {}, "weights": None, "siamtrack": "0.1.0"}
    assert claim_results_folder(tmp_path, "dcfnet", metadata) == []
    assert json.loads((folder / "run.json").read_text()) == metadata
    (folder / "DragonBaby.txt").write_text("1,2,3,4\n")
    (folder / "run.json").unlink()
    assert "no run.json" in claim_results_folder(tmp_path, "dcfnet", metadata)[0]  # real results: the warning


def test_of_two_runners_recording_a_new_folder_the_second_is_checked_against_the_first(tmp_path, monkeypatch):
    """Both saw no run.json; the first records its run, the second must then be compared with it (other weights: a
    mismatch), not overwrite it."""
    from siamtrack.evaluation import runner

    first = {"tracker": "dcfnet", "params": {}, "weights_sha256": "aa", "siamtrack": "0.1.0"}
    second = {**first, "weights_sha256": "bb"}
    create = runner._create_exclusively

    def first_runner_wins(path, text):  # the first runner links its run.json between our check and our link
        create(path, json.dumps(first))
        return create(path, text)

    monkeypatch.setattr(runner, "_create_exclusively", first_runner_wins)
    try:
        runner.claim_results_folder(tmp_path, "dcfnet", second)
    except runner.ResultsMismatch as error:
        assert "weights" in str(error)
    else:
        raise AssertionError("the second runner's other weights were not refused")
    assert json.loads((tmp_path / "dcfnet" / "run.json").read_text()) == first
    assert [p.name for p in (tmp_path / "dcfnet").iterdir()] == ["run.json"]  # no temporary file left


def test_a_run_json_written_between_the_two_looks_is_checked_not_warned_about(tmp_path, monkeypatch):
    """Under load a runner can stall between looking for run.json and looking for results, while another runner
    records its run and finishes a sequence: the folder then has both, and must be checked against run.json."""
    from siamtrack.evaluation import runner

    metadata = {"tracker": "dcfnet", "params": {}, "weights_sha256": "aa", "siamtrack": "0.1.0"}
    folder = tmp_path / "dcfnet"
    holds = runner._holds_results

    def the_other_runner_meanwhile(path):
        (folder / "run.json").write_text(json.dumps({**metadata, "weights_sha256": "bb"}))
        (folder / "DragonBaby.txt").write_text("1,2,3,4\n")
        return holds(path)

    folder.mkdir()
    monkeypatch.setattr(runner, "_holds_results", the_other_runner_meanwhile)
    try:
        runner.claim_results_folder(tmp_path, "dcfnet", metadata)
    except runner.ResultsMismatch:
        pass
    else:
        raise AssertionError("results of other weights were reused with a warning instead of refused")


def test_exclusive_creation_without_hard_links_is_still_exclusive(tmp_path, monkeypatch):
    """Where the file system refuses hard links, the claim / run.json is created with O_EXCL instead: the first
    creator wins, the second is told so, and no temporary file is left."""
    import errno

    from siamtrack.evaluation import runner

    def no_links(source, target):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(runner.os, "link", no_links)
    path = tmp_path / "s0.txt.claim"
    assert runner._create_exclusively(path, "first")
    assert not runner._create_exclusively(path, "second")
    assert path.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == [path.name]
