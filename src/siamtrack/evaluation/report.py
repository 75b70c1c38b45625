"""Compare several trackers from their result folders: one JSON, one Markdown table, PNG plots.

``build_report`` evaluates every (tracker, experiment) pair from files only; ``write_report`` writes
``report.json`` (overall, per sequence, per attribute/tag, and the protocol), ``report.md`` (overall, per sequence,
per attribute/tag) and the plots (``<experiment>_success.png``, ``_precision.png``, ``_norm_precision.png``,
``_attributes.png``, ``<experiment>_eao.png``, ``_tags.png``): as the OTB / got10k toolkits draw them, plus the
dataset and the sequence count in every title, one colour per tracker in all plots (:func:`plots.tracker_colors`)
and each attribute's sequence count (each tag's frame count) on its bar group.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from siamtrack.data.sequence import Sequence
from siamtrack.evaluation import plots
from siamtrack.evaluation.evaluate import evaluate_one_pass, evaluate_supervised
from siamtrack.evaluation.protocol import Protocol, get_protocol
from siamtrack.atomic_files import write_text_atomically

ONE_PASS = ("ope", "tre", "sre")
SUPERVISED = ("baseline", "realtime")


def build_report(
    root,
    trackers: list[str],
    sequences: list[Sequence],
    protocol: Protocol | str = "otb",
    experiments: tuple[str, ...] = ("ope",),
    dataset: str = "",
) -> dict:
    """Evaluate each tracker on each experiment; the report keeps everything needed to redraw it."""
    protocol = get_protocol(protocol)
    if not trackers:
        raise ValueError("no tracker to report on")
    results: dict[str, dict] = {}
    for experiment in experiments:
        if experiment in ONE_PASS:
            results[experiment] = {t: evaluate_one_pass(root, t, sequences, protocol, experiment) for t in trackers}
        elif experiment in SUPERVISED:
            results[experiment] = {t: evaluate_supervised(root, t, sequences, protocol, experiment) for t in trackers}
        else:
            raise ValueError(f"unknown experiment {experiment!r}; one of {ONE_PASS + SUPERVISED}")
    return {
        "dataset": dataset,
        "sequences": [s.name for s in sequences],
        "protocol": protocol.describe(),
        "results": results,
    }


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    """Markdown tables: one per experiment (overall), then per-attribute / per-tag tables."""
    lines = [
        f"# Tracking report{': ' + report['dataset'] if report['dataset'] else ''}",
        "",
        f"Protocol `{report['protocol']['name']}`, {len(report['sequences'])} sequences.",
        "",
    ]
    for experiment, by_tracker in report["results"].items():
        lines.append(f"## {experiment}")
        lines.append("")
        if experiment in ONE_PASS:
            header = ["tracker", "AUC", "P@20", "NP@0.2", "AO", "SR0.5", "SR0.75", "fps"]
            keys = ["auc", "precision", "normalized_precision", "ao", "sr50", "sr75", "fps"]
        else:
            header = ["tracker", "EAO", "accuracy", "failures", "robustness", "fps"]
            keys = ["eao", "accuracy", "total_failures", "robustness", "fps"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for tracker, result in by_tracker.items():
            row = [tracker] + [_fmt(result["overall"].get(k), 1 if k in ("fps", "total_failures") else 3) for k in keys]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines += per_sequence_table(experiment, by_tracker, report["sequences"])
        groups = "per_attribute" if experiment in ONE_PASS else "per_tag"
        score = "auc" if experiment in ONE_PASS else "accuracy"
        names = sorted({g for result in by_tracker.values() for g in result.get(groups, {})})
        if names:
            lines.append(f"### {experiment}: {score} per {'attribute' if groups == 'per_attribute' else 'tag'}")
            lines.append("")
            lines += ["| " + " | ".join(["tracker"] + names) + " |", "|" + "---|" * (len(names) + 1)]
            for tracker, result in by_tracker.items():
                cells = [_fmt(result[groups].get(n, {}).get(score)) for n in names]
                lines.append("| " + " | ".join([tracker] + cells) + " |")
            lines.append("")
    return "\n".join(lines)


def per_sequence_table(experiment: str, by_tracker: dict, sequences: list[str]) -> list[str]:
    """Markdown lines: one row per sequence, one column per tracker (AUC for one-pass experiments, accuracy /
    failures for the reset-based ones)."""
    keys = ("auc",) if experiment in ONE_PASS else ("accuracy", "failures")
    trackers = list(by_tracker)
    lines = [
        f"### {experiment}: {' / '.join(keys)} per sequence",
        "",
        "| sequence | " + " | ".join(trackers) + " |",
        "|" + "---|" * (len(trackers) + 1),
    ]
    for name in sequences:
        cells = []
        for tracker in trackers:
            scores = by_tracker[tracker].get("per_sequence", {}).get(name, {})
            cells.append(" / ".join(_fmt(scores.get(k), 1 if k == "failures" else 3) for k in keys))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def _title(text: str, report: dict) -> str:
    """``text`` with the dataset and the sequence count (``Success plots of OPE - shared, 10 sequences``)."""
    count = len(report["sequences"])
    where = f"{report['dataset']}, " if report.get("dataset") else ""
    return f"{text} - {where}{count} sequence{'s' if count != 1 else ''}"


def _group_labels(names: list[str], by_tracker: dict, groups: str) -> list[str]:
    """Attribute names with their sequence counts (``OCC (2)``), tags with their frame counts."""
    key, unit = ("num_sequences", "") if groups == "per_attribute" else ("num_frames", " fr")
    labels = []
    for name in names:
        counts = {r[groups][name].get(key) for r in by_tracker.values() if name in r.get(groups, {})}
        counts.discard(None)
        labels.append(f"{name} ({'/'.join(str(c) for c in sorted(counts))}{unit})" if counts else name)
    return labels


def write_report(report: dict, out_dir) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the PNG plots into ``out_dir``; returns the files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("report.json", json.dumps(_json_ready(report), indent=1)), ("report.md", markdown(report))):
        write_text_atomically(out_dir / name, text + "\n")
        written.append(out_dir / name)
    protocol = Protocol(**{**report["protocol"], "eao_interval": tuple(report["protocol"]["eao_interval"])})
    colors = plots.tracker_colors(t for by_tracker in report["results"].values() for t in by_tracker)
    for experiment, by_tracker in report["results"].items():
        overall = {t: r["overall"] for t, r in by_tracker.items()}
        if experiment in ONE_PASS:
            label = experiment.upper()
            for stem, name, thresholds, curve, score, xlabel, ylabel in (
                (
                    "success",
                    "Success",
                    protocol.success_threshold_values,
                    "success_curve",
                    "auc",
                    "overlap threshold",
                    "success rate",
                ),
                (
                    "precision",
                    "Precision",
                    protocol.precision_thresholds,
                    "precision_curve",
                    "precision",
                    "location error threshold (pixels)",
                    "precision",
                ),
                (
                    "norm_precision",
                    "Normalized precision",
                    protocol.normalized_precision_thresholds,
                    "normalized_precision_curve",
                    "normalized_precision",
                    "normalized location error threshold",
                    "normalized precision",
                ),
            ):
                written.append(
                    plots.curve_plot(
                        out_dir / f"{experiment}_{stem}.png",
                        thresholds,
                        {t: (np.array(o[curve]), o[score]) for t, o in overall.items()},
                        _title(f"{name} plots of {label}", report),
                        xlabel,
                        ylabel,
                        colors=colors,
                    )
                )
            groups, score = "per_attribute", "auc"
        else:
            written.append(
                plots.eao_plot(
                    out_dir / f"{experiment}_eao.png",
                    {t: (np.array(o["eao_curve"], dtype=np.float64), o["eao"]) for t, o in overall.items()},
                    protocol.eao_interval,
                    _title(f"Expected average overlap ({experiment})", report),
                    colors=colors,
                )
            )
            groups, score = "per_tag", "accuracy"
        names = sorted({g for r in by_tracker.values() for g in r.get(groups, {})})
        if names:
            values = {t: [r[groups].get(n, {}).get(score, float("nan")) for n in names] for t, r in by_tracker.items()}
            suffix = "attributes" if groups == "per_attribute" else "tags"
            written.append(
                plots.bar_plot(
                    out_dir / f"{experiment}_{suffix}.png",
                    _group_labels(names, by_tracker, groups),
                    values,
                    _title(f"{experiment}: {score} per {suffix[:-1]}", report),
                    score,
                    colors=colors,
                )
            )
    return written
