"""benchmarks/seed_tables.py: the statement rule, the paired comparison, the RESULTS.md section replacement, and
each table's --dry-run (every command's config loads with its overrides, every tracker is registered)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from siamtrack.training.config import load_config, resolve_config
from siamtrack.trackers import TRACKERS

import seed_tables as st  # benchmarks/seed_tables.py (tests/conftest.py puts benchmarks/ on sys.path)
from seed_tables import NO_CLAIM, NOISE, NOT_REPRODUCED, REPRODUCED, paired_comparison, replace_section, statement

REPO = Path(__file__).resolve().parents[1]


# --- the statement rule ------------------------------------------------------------------------------------------


def test_statement_reproduced_when_every_seed_agrees_and_the_mean_beats_the_noise():
    assert statement([0.03, 0.02, 0.04], +1, noise=0.02) == REPRODUCED
    assert statement([-0.03, -0.02, -0.04], -1, noise=0.02) == REPRODUCED  # the paper has the row below


def test_statement_not_reproduced_when_every_seed_goes_the_other_way_beyond_the_noise():
    assert statement([-0.03, -0.02, -0.04], +1, noise=0.02) == NOT_REPRODUCED
    assert statement([0.05, 0.04, 0.06], -1, noise=0.01) == NOT_REPRODUCED


def test_statement_noise_when_seeds_disagree_or_the_mean_is_within_the_spread():
    assert statement([0.05, -0.01, 0.04], +1, noise=0.0) == NOISE  # one seed disagrees
    assert statement([0.01, 0.02, 0.015], +1, noise=0.015) == NOISE  # mean 0.015 does not exceed the noise
    assert statement([0.01, 0.02, 0.015], +1, noise=0.0149) == REPRODUCED  # ... and just does here
    assert statement([-0.01, -0.02], +1, noise=0.02) == NOISE
    assert statement([0.05, 0.05], +1, noise=None) == NOISE  # no spread measured: no verdict
    assert statement([0.05], None, noise=0.0) == NO_CLAIM
    with pytest.raises(ValueError, match="direction"):
        statement([0.05], 2, noise=0.0)


# --- the paired comparison ---------------------------------------------------------------------------------------


def test_paired_comparison_pairs_same_seeds_and_counts_sequences():
    row = {
        0: {"a": 0.60, "b": 0.50, "c": 0.40},
        1: {"a": 0.62, "b": 0.48, "c": 0.40},
        2: {"a": 0.9, "b": 0.9, "c": 0.9},
    }
    base = {0: {"a": 0.50, "b": 0.50, "c": 0.30}, 1: {"a": 0.52, "b": 0.50, "c": 0.43}}
    result = paired_comparison(row, base)
    assert result["pairs"] == [(0, 0), (1, 1)]  # seed 2 has no baseline: not paired
    np.testing.assert_allclose(result["differences"], [(0.10 + 0.0 + 0.10) / 3, (0.10 - 0.02 - 0.03) / 3])
    assert result["mean"] == pytest.approx(np.mean(result["differences"]))
    np.testing.assert_allclose([result["per_sequence"][s] for s in "abc"], [0.10, -0.01, 0.035])
    assert (result["better"], result["worse"]) == (2, 1)


def test_paired_comparison_deterministic_baseline_pairs_with_every_seed():
    row = {0: {"a": 0.5, "b": 0.7}, 1: {"a": 0.3, "b": 0.5}}
    base = {None: {"a": 0.4, "b": 0.6}}
    result = paired_comparison(row, base)
    assert result["pairs"] == [(0, None), (1, None)]
    np.testing.assert_allclose(result["differences"], [0.1, -0.1])
    assert (result["better"], result["worse"]) == (0, 0)  # the per-sequence means are 0: neither
    # spread: the seeded row's half-range (0.2 / 2); the deterministic side has none
    assert st.claim_noise(row, base, table_noise=None) == pytest.approx(0.1)
    assert st.claim_noise({None: {"a": 1.0}}, {None: {"a": 0.5}}, table_noise=0.03) == 0.03


def test_evaluate_claim_on_hand_made_scores():
    """Row above its baseline on every seed by more than either spread: reproduced; reversed direction: not."""

    def seeds(offset):
        return {s: {"a": 0.5 + offset + 0.01 * s, "b": 0.4 + offset} for s in range(3)}

    scores = {"r": {"auc": seeds(0.05)}, "b": {"auc": seeds(0.0)}}
    noise = {"auc": st.largest_seeded_half_range(scores, "auc")}
    assert noise["auc"] == pytest.approx(0.005)  # (0.02 / 2 over sequences a, b) / 2
    up = st.evaluate_claim(st.Claim("r", "b", +1, "-", metric="auc"), scores, noise)
    assert up["statement"] == REPRODUCED and up["mean"] == pytest.approx(0.05)
    down = st.evaluate_claim(st.Claim("r", "b", -1, "-", metric="auc"), scores, noise)
    assert down["statement"] == NOT_REPRODUCED
    untestable = st.evaluate_claim(st.Claim("r", "b", +1, "-", metric="auc", untestable="no decoder"), scores, noise)
    assert untestable["statement"] == st.UNTESTABLE and untestable["mean"] == pytest.approx(0.05)


def test_partial_row_shows_its_seeds_and_its_claim_makes_no_statement():
    """A row with 1 of its 3 seeds is shown with that seed, marked, and a claim on it says "partial" however large
    the difference: one seed has no spread to weigh it by. A complete pair of rows keeps its statement."""
    from types import SimpleNamespace

    table = st.TABLES["pretrained"]
    sequences = [SimpleNamespace(name=n, dataset="OTB") for n in ("a", "b")]

    def seeds(value, which):
        return {s: {"a": value + 0.01 * s, "b": value} for s in which}

    scores = {
        "siamfc-lite": {m: seeds(0.5, range(3)) for m in ("auc", "sr50")},
        "rasnet-lite": {m: seeds(0.7, range(3)) for m in ("auc", "sr50")},
        "cfnet-lite": {m: seeds(0.9, [0]) for m in ("auc", "sr50")},
    }
    section = st.build_section(
        "pretrained", table, list(scores), [0, 1, 2], scores, {}, {}, [], "cmd", "machine", "1 min", None, sequences
    )
    row = [line for line in section.splitlines() if line.startswith("| cfnet-lite | cfnet-lite |")]
    assert len(row) == 1 and "| 1 of 3 seeds | **0.900** | 0.900 |" in row[0], row
    claims = [line for line in section.splitlines() if line.startswith("| cfnet-lite | siamfc-lite |")]
    assert len(claims) == 1 and "partial (cfnet-lite: 1 of 3 seeds)" in claims[0], claims
    complete = [line for line in section.splitlines() if line.startswith("| rasnet-lite | siamfc-lite |")]
    assert len(complete) == 1 and NO_CLAIM in complete[0] and "partial" not in complete[0]


# --- RESULTS.md --------------------------------------------------------------------------------------------------


def test_replace_section_in_place_in_a_copy_of_results_md(tmp_path):
    copy = tmp_path / "RESULTS.md"
    original = (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    copy.write_text(original, encoding="utf-8")
    assert "## Seed table `example`" not in original  # a table name no real table has: appended, then replaced
    first = "## Seed table `example`: Example\n\nfirst version\n"
    st.record_section("example", first, copy)
    once = copy.read_text(encoding="utf-8")
    assert once.startswith(original.rstrip("\n")) and once.count("## Seed table `example`") == 1
    st.record_section("example", "## Seed table `example`: Example again\n\nsecond version\n| a |\n", copy)
    twice = copy.read_text(encoding="utf-8")
    assert twice.count("## Seed table `example`") == 1 and "first version" not in twice and "second version" in twice
    assert twice.replace("## Seed table `example`: Example again\n\nsecond version\n| a |\n", "") == once.replace(
        first, ""
    )  # nothing else moved
    # a section in the middle is replaced in place: the sections around it stay where they were
    text = "intro\n\n## A\n\na\n\n## Seed table `edcf`: old\n\nold body\n\n## C\n\nc\n"
    replaced = replace_section(text, "## Seed table `edcf`", "## Seed table `edcf`: new\n\nnew body\n")
    assert replaced == "intro\n\n## A\n\na\n\n## Seed table `edcf`: new\n\nnew body\n\n## C\n\nc\n"
    with pytest.raises(ValueError, match="2 sections"):
        replace_section(first + "\n" + first, "## Seed table `example`", first)


# --- tables and --dry-run ----------------------------------------------------------------------------------------


def test_every_table_row_and_claim_is_defined():
    for name, table in st.TABLES.items():
        for row in table.rows:
            assert row in st.ROWS, f"table {name}: row {row!r} is not in ROWS"
        for claim in table.claims:
            assert claim.row in table.rows and claim.baseline in table.rows, f"table {name}: {claim}"
            assert claim.direction in (1, -1, None)
            assert (claim.metric or table.metric) in st.METRICS
    assert st.ROWS["edcf-lite"].config == st.ROWS["siamfc-lite"].config  # EDCF tracks each seed's siamfc-lite


def test_run_dirs_and_result_names_keep_the_former_names():
    assert st.run_dir_name(st.ROWS["siamfc-lite"], 2) == "siamfc-lite0-cached-s2"
    assert st.result_name("siamfc-lite bf16", 1) == "siamfc-lite-bf16-s1"
    assert st.result_name("tadt-lite", None) == "tadt-lite"
    rpn = st.run_dir_name(st.ROWS["siamrpn-lite bce all"], 0)
    assert rpn.startswith("siamrpn_sl-lite0-cached-") and rpn.endswith("-s0") and rpn != "siamrpn_sl-lite0-cached-s0"
    assert rpn == st.run_dir_name(st.ROWS["siamrpn-lite bce all"], 0)  # stable
    distinct = {st.run_dir_name(row, 0) for row in st.ROWS.values() if row.config}
    trained = {(row.config, row.overrides) for row in st.ROWS.values() if row.config}
    assert len(distinct) == len(trained)  # one run dir per distinct training


@pytest.mark.parametrize("table", sorted(st.TABLES))
def test_dry_run_lists_every_command(table, tmp_path, shared):
    seeds = [0, 1, 2]
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "seed_tables.py"),
            "--table",
            table,
            "--dry-run",
            "--seeds",
            *map(str, seeds),
            "--runs",
            str(tmp_path / "runs"),
            "--results",
            str(tmp_path / "results"),
            "--shared",
            str(shared),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    commands = [shlex.split(line[2:]) for line in out.stdout.splitlines() if line.startswith("+ ")]
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()  # nothing ran
    spec = st.TABLES[table]
    trains = [c for c in commands if c[1] == "train"]
    evals = [c for c in commands if c[1] == "eval" and "vot" not in c]
    vots = [c for c in commands if c[1] == "eval" and "vot" in c]
    expected_names = {st.result_name(row, seed) for row in spec.rows for seed in st.row_seeds(st.ROWS[row], seeds)}
    assert sorted(c[c.index("--name") + 1] for c in evals) == sorted(expected_names)
    expected_runs = {st.run_dir_name(st.ROWS[row], seed) for row in spec.rows if st.ROWS[row].config for seed in seeds}
    assert sorted(Path(c[c.index("--run-dir") + 1]).name for c in trains) == sorted(expected_runs)  # each once
    assert len(vots) == (len(evals) if spec.vot else 0)
    for command in trains:
        config = resolve_config(command[command.index("--config") + 1])
        assert config.is_file(), config
        overrides = [command[i + 1] for i, item in enumerate(command) if item == "--set"]
        seed = int(Path(command[command.index("--run-dir") + 1]).name.rsplit("-s", 1)[1])
        loaded = load_config(config, overrides)
        assert loaded.train.seed == seed and loaded.train.progress is False
    for command in evals + vots:
        assert command[command.index("--tracker") + 1] in TRACKERS
        name = command[command.index("--name") + 1]
        if "--weights" in command and command[command.index("--weights") + 1] != "random":
            run_dir = Path(command[command.index("--weights") + 1]).parent.name
            assert run_dir in expected_runs, (name, run_dir)
        row = next(row for row in spec.rows if name in {st.result_name(row, s) for s in seeds + [None]})
        params = [command[i + 1] for i, item in enumerate(command) if item == "--param"]
        assert params[: len(st.ROWS[row].params)] == list(st.ROWS[row].params)
        assert ("seed=" in " ".join(params)) == st.ROWS[row].param_seed


# --- the wall-time ledger ----------------------------------------------------------------------------------------


def test_the_wall_ledger_loses_no_entry_when_drivers_add_to_it_in_parallel(tmp_path):
    # two drivers share a results folder when a table's seeds run one per core; unlocked read-add-write lost entries
    # and a reader could meet a half-written file (json.JSONDecodeError)
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import seed_tables as st\n"
        "for _ in range(40): st.add_to_ledger(Path(sys.argv[2]), sys.argv[3], 0.5)\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(REPO / "benchmarks"), str(tmp_path), key])
        for key in ("a", "a", "b", "c")
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0, 0]
    assert st.read_ledger(tmp_path) == {"a": 40.0, "b": 20.0, "c": 20.0}


# --- what counts as done -----------------------------------------------------------------------------------------


def _jobs(row: str, tmp_path: Path) -> dict:
    ((_, _, jobs),) = st.plan([row], [0], tmp_path / "runs", tmp_path / "results", tmp_path / "shared")
    return {job.kind: job for job in jobs}


def test_a_run_folder_trained_with_another_config_is_refused_not_reused(tmp_path):
    from siamtrack.training.config import dump_config
    from siamtrack.training.run_folder import config_changes

    train = _jobs("cfnet-lite m13", tmp_path)["train"]
    command = train.command
    run_dir = Path(command[command.index("--run-dir") + 1])
    overrides = [command[i + 1] for i, item in enumerate(command) if item == "--set"]
    config = load_config(command[command.index("--config") + 1], overrides)
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(dump_config(config))
    assert not st.job_done(train, tmp_path / "runs", tmp_path / "results", [], [])  # no model.pth yet
    (run_dir / "model.pth").write_bytes(b"")
    assert st.job_done(train, tmp_path / "runs", tmp_path / "results", [], [])

    # the memory layout is not a change of what trains; the recipe's filter crop is
    layout = load_config(command[command.index("--config") + 1], overrides + ["train.channels_last=true"])
    (run_dir / "config.yaml").write_text(dump_config(layout))
    assert config_changes(config, run_dir) == []
    older = load_config(command[command.index("--config") + 1], overrides + ["model.args.margin=8"])
    (run_dir / "config.yaml").write_text(dump_config(older))
    with pytest.raises(SystemExit, match=f"{run_dir} was trained with another config .*model.args.margin"):
        st.job_done(train, tmp_path / "runs", tmp_path / "results", [], [])


def test_results_of_other_weights_are_not_done(tmp_path, monkeypatch):
    import json

    from siamtrack.evaluation import evaluate
    from siamtrack.evaluation.runner import file_sha256

    monkeypatch.setattr(evaluate, "evaluate_one_pass", lambda *args: {})  # every sequence scores
    job = _jobs("cfnet-lite m13", tmp_path)["eval"]
    weights = Path(job.command[job.command.index("--weights") + 1])
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"the weights the results were computed with")
    folder = tmp_path / "results" / job.key.split(" ", 1)[1]
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"weights_sha256": file_sha256(weights)}))
    assert st.job_done(job, tmp_path / "runs", tmp_path / "results", [], [])
    weights.write_bytes(b"retrained")  # siamtrack eval, run again, refuses the folder and says why
    assert not st.job_done(job, tmp_path / "runs", tmp_path / "results", [], [])


def test_an_objective_recorded_under_its_former_path_is_the_same_config(tmp_path):
    import yaml

    from siamtrack.training.config import dump_config
    from siamtrack.training.run_folder import config_changes

    config = load_config("bundled/pretrained/siamrpn_sl-lite0-cached")
    assert config.loss.name == "siamtrack.training.objectives:rpn_objective"
    saved = yaml.safe_load(dump_config(config))
    saved["loss"]["name"] = "siamtrack.models.siamrpn:rpn_objective"  # run folders trained before the move
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    assert config_changes(config, tmp_path) == []
    saved["loss"]["name"] = "siamtrack.training.objectives:edcf_objective"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    assert config_changes(config, tmp_path) == ["loss.name"]


def test_a_mean_carried_by_one_sequence_against_most_others_is_not_a_reproduction():
    # TADT's "- / Regress" over "- / Rand" on the pretrained trunk: +1.6 points with every seed, but OTB-Basketball
    # alone (+0.23) against 8 of 10 sequences lower
    assert statement([0.027, 0.020, 0.002], +1, noise=0.013, better=2, worse=8) == NOISE
    assert statement([0.027, 0.020, 0.002], +1, noise=0.013, better=5, worse=5) == REPRODUCED
    assert statement([-0.03, -0.02, -0.04], +1, noise=0.02, better=7, worse=3) == NOISE
    assert statement([-0.03, -0.02, -0.04], +1, noise=0.02, better=3, worse=7) == NOT_REPRODUCED
    assert statement([0.03, 0.02, 0.04], -1, noise=0.02, better=8, worse=2) == NOT_REPRODUCED  # the paper has it below


def test_the_losses_figure_has_one_panel_per_training_recipe(tmp_path, monkeypatch):
    """Rows that share their runs (edcf-lite on siamfc-lite's) give one panel; a row without a config (tadt-lite)
    none; a seed without a log is left out, and no log at all draws nothing. The figure reads the archived logs
    (``<results>/training-logs``), which only finished runs (with a model.pth) are copied to."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = st.TABLES["pretrained"]
    rows = ["siamfc-lite", "edcf-lite", "tadt-lite", "cfnet-lite"]
    runs, results = tmp_path / "runs", tmp_path / "results"
    assert st.plot_losses_figure(table, rows, [0, 1], results, tmp_path / "none.png") is None
    lines = ["step,epoch,iteration,loss,lr"] + [f"{i},0,{i},{1.0 / (i + 1)},0.01" for i in range(120)]
    for row, seeds in (("siamfc-lite", (0, 1)), ("cfnet-lite", (1,)), ("adacfnet-lite", (0,))):
        for seed in seeds:
            folder = runs / st.run_dir_name(st.ROWS[row], seed)
            folder.mkdir(parents=True)
            (folder / "log.csv").write_text("\n".join(lines) + "\n")
            if row != "adacfnet-lite":  # a run still training: no model.pth, its log is not archived
                (folder / "model.pth").write_bytes(b"")
    planned = st.plan(rows + ["adacfnet-lite"], [0, 1], runs, results, tmp_path / "shared")
    copied = st.archive_training_logs(planned, runs, results)
    assert sorted(path.name for path in copied) == sorted(
        f"{st.run_dir_name(st.ROWS[row], seed)}.csv"
        for row, seed in (("siamfc-lite", 0), ("siamfc-lite", 1), ("cfnet-lite", 1))
    )
    assert st.archive_training_logs(planned, runs, results) == []  # unchanged logs are not copied again
    drawn = []
    monkeypatch.setattr(plt.Figure, "savefig", lambda figure, path, **_: drawn.append(figure))
    path = st.plot_losses_figure(table, rows, [0, 1], results, tmp_path / "losses.png")
    assert path == tmp_path / "losses.png"
    (figure,) = drawn
    panels = [axis for axis in figure.axes if axis.get_visible()]
    assert [axis.get_title().split(" (")[0] for axis in panels] == ["siamfc-lite", "cfnet-lite"]
    assert [len(axis.lines) for axis in panels] == [2, 1]
    curve = panels[0].lines[0].get_ydata()
    assert len(curve) == 120 - 50 + 1 and np.isclose(curve[0], np.mean(1.0 / np.arange(1, 51)))


def test_archived_results_need_no_model_and_their_training_is_not_run_again(tmp_path, monkeypatch):
    """A committed, complete result of a trained row is done without its run folder (run folders are not
    committed); its training is then left out, unless another row on the same run (edcf-lite on siamfc-lite's) still
    has to track. An unfinished result or one without a recorded weights digest is not done."""
    import json

    from siamtrack.evaluation import evaluate

    complete = set()

    def fake_evaluate_one_pass(results, name, sequences, protocol):
        if name not in complete:
            raise FileNotFoundError(name)
        return {}

    monkeypatch.setattr(evaluate, "evaluate_one_pass", fake_evaluate_one_pass)
    runs, results = tmp_path / "runs", tmp_path / "results"
    planned = st.plan(["siamfc-lite", "edcf-lite"], [0], runs, results, tmp_path / "shared")
    done = lambda job: st.job_done(job, runs, results, [], [])  # noqa: E731
    keys = lambda jobs: [job.key for job in jobs]  # noqa: E731
    train = planned[0][2][0]
    assert train.kind == "train" and keys(st.jobs_to_run(planned, done)) == [
        train.key,
        "eval siamfc-lite-s0",
        "eval edcf-lite-s0",
    ]

    (results / "siamfc-lite-s0").mkdir(parents=True)
    (results / "siamfc-lite-s0" / "run.json").write_text(json.dumps({"weights_sha256": "ab" * 32}))
    assert not done(planned[0][2][1])  # unfinished
    complete.add("siamfc-lite-s0")
    assert done(planned[0][2][1])  # complete, no model.pth here: archived
    assert keys(st.jobs_to_run(planned, done)) == [train.key, "eval edcf-lite-s0"]  # edcf-lite needs the model
    assert keys(st.jobs_to_run(planned[:1], done)) == []  # siamfc-lite alone: nothing to train

    (results / "siamfc-lite-s0" / "run.json").write_text(json.dumps({}))  # no digest: not known to be archived
    assert not done(planned[0][2][1])


# --- only complete results are committed ---------------------------------------------------------------------------


def _tracked(results: Path) -> set[str] | None:
    """The files under ``results`` that git tracks, relative to it (the working tree may hold unfinished folders that
    are not committed); ``None`` outside a git checkout."""
    listed = subprocess.run(["git", "ls-files", "--", str(results)], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        return None
    return {Path(line).relative_to(results.relative_to(REPO)).as_posix() for line in listed.stdout.split()}


def test_every_committed_seed_result_is_complete(shared):
    """Each result folder committed under benchmarks/seed_results has its run.json and a full-length result (boxes
    and times) on every dev-eval sequence, all of them tracked by git (a later session resumes an unfinished one
    with a retrained model, which siamtrack eval refuses; and a table scored from it would silently miss
    sequences). Outside a git checkout every folder there is checked."""
    from siamtrack.data import shared_split

    results = st.SEED_RESULTS
    tracked = _tracked(results)
    names = {path.split("/")[0] for path in tracked} if tracked is not None else {p.name for p in results.iterdir()}
    names = sorted(name for name in names if (results / name).is_dir() and name != st.TRAINING_LOGS)
    assert names, f"no result folder under {results}"
    sequences = shared_split(shared, "dev-eval")
    if tracked is not None:
        from siamtrack.evaluation.results import ope_paths

        needed = [f"{name}/run.json" for name in names] + [
            path.relative_to(results).as_posix()
            for name in names
            for s in sequences
            for path in ope_paths(results, name, s.name)
        ]
        assert [path for path in needed if path not in tracked] == [], "result files not committed"
    vot = [s for s in sequences if s.dataset == "VOT"]
    assert st.unfinished_results(results, names, sequences, vot) == {}


def test_unfinished_results_are_named_with_why(tmp_path, shared):
    """A folder with every sequence's boxes is complete; one with a short file or one missing, or without run.json,
    is named with the file at fault."""
    from siamtrack.data import shared_split
    from siamtrack.evaluation.results import ope_paths, write_one_pass

    sequences = shared_split(shared, "dev-eval")[:2]
    results = tmp_path / "results"

    def write(name, lengths, run_file=True):
        (results / name / "times").mkdir(parents=True)
        if run_file:
            (results / name / "run.json").write_text("{}")
        for sequence, length in zip(sequences, lengths):
            if length is not None:
                boxes = sequence.ground_truth[:length]
                write_one_pass(*ope_paths(results, name, sequence.name), boxes, np.full(len(boxes), 0.01))

    full = [len(s) for s in sequences]
    write("complete", full)
    write("short", [full[0], full[1] - 1])
    write("missing", [full[0], None])
    write("no-record", full, run_file=False)
    unfinished = st.unfinished_results(results, ["complete", "short", "missing", "no-record"], sequences, [])
    assert sorted(unfinished) == ["missing", "no-record", "short"]
    assert sequences[1].name in unfinished["short"] and sequences[1].name in unfinished["missing"]
    assert "run.json" in unfinished["no-record"]
