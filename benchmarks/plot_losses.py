"""DSLT's loss plots (Lu et al., TPAMI 2020), drawn from the library's own loss functions:

* ``fig4a_modulation.png``: the modulating factor of Eq. 5, ``1 / (1 + exp(a (c - l)))``, for several ``a, c``;
* ``fig4b_regression_losses.png``: L2 (Eq. 3), L3 (Eq. 4, γ = 1) and the shrinkage loss (Eq. 6, a = 10, c = 0.2)
  against the absolute difference ``l``;
* ``fig6a_modulation.png``: the classification modulating factors of Eq. 12 and Eq. 13 (with ``exp(p_t)``)
  against ``p_t`` for several ``a, c``;
* ``fig6b_classification_losses.png``: BCE (Eq. 9), focal (Eq. 11, γ = 1, 2) and shrinkage (Eq. 12 without and
  Eq. 14 with ``exp(p_t)``, a = 10, c = 0.6) against ``p_t`` (easy samples: ``p_t`` near 1).

    python benchmarks/plot_losses.py --out DIR

Each curve is one sample evaluated with ``reduction="none"`` by the function in :mod:`siamtrack.losses`, so the
plots show exactly what training optimises. Also writes ``losses.csv`` (every plotted value).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from siamtrack import losses  # noqa: E402


def per_sample(function, first: torch.Tensor, second: torch.Tensor, **kwargs) -> torch.Tensor:
    """``function`` on one sample per pair: ``(n,)`` losses."""
    return function(first[:, None], second[:, None], reduction="none", **kwargs)


def regression_curves(l: torch.Tensor) -> dict[str, torch.Tensor]:
    zero = torch.zeros_like(l)
    return {
        "L2 (Eq. 3)": per_sample(losses.l2_loss, l, zero),
        "L3 (Eq. 4, γ=1)": per_sample(losses.l3_loss, l, zero),
        "shrinkage (Eq. 6, a=10, c=0.2)": per_sample(losses.shrinkage_loss, l, zero, importance=False),
    }


def classification_curves(p_t: torch.Tensor) -> dict[str, torch.Tensor]:
    logits = torch.log(p_t / (1 - p_t))
    ones = torch.ones_like(p_t)

    def curve(function, **kwargs):
        return function(logits[:, None], ones[:, None], ones[:, None], reduction="none", **kwargs)

    return {
        "BCE (Eq. 9)": curve(losses.bce_with_logits_loss),
        "focal (Eq. 11, γ=1)": curve(losses.focal_bce_loss, gamma=1.0),
        "focal (Eq. 11, γ=2)": curve(losses.focal_bce_loss, gamma=2.0),
        "shrinkage (Eq. 12, a=10, c=0.6)": curve(losses.shrinkage_bce_loss, importance=False),
        "shrinkage (Eq. 14, with exp(p_t))": curve(losses.shrinkage_bce_loss),
    }


def plot(curves: dict[str, torch.Tensor], x: torch.Tensor, xlabel: str, ylabel: str, title: str, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(5.5, 4))
    for label, values in curves.items():
        axis.plot(x.numpy(), values.numpy(), label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder for the PNGs and losses.csv")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    l = torch.linspace(0.0, 1.0, 201, dtype=torch.float64)
    p_t = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)

    factors = {
        f"a={a:g}, c={c:g}": losses.shrinkage_modulation(l, a, c)
        for a, c in [(10, 0.2), (5, 0.2), (20, 0.2), (10, 0.4), (6, 0.6)]
    }
    plot(
        factors,
        l,
        "absolute difference l",
        "f(l)",
        "Fig. 4(a): modulating factor (Eq. 5)",
        out / "fig4a_modulation.png",
    )
    regression = regression_curves(l)
    plot(
        regression,
        l,
        "absolute difference l",
        "loss",
        "Fig. 4(b): regression losses",
        out / "fig4b_regression_losses.png",
    )

    classification_factors = {}
    for a, c in [(10, 0.6), (10, 0.2), (6, 0.6), (6, 0.2)]:
        eq12 = torch.sigmoid(-a * (p_t - c))
        classification_factors[f"Eq. 12, a={a:g}, c={c:g}"] = eq12
        classification_factors[f"Eq. 13, a={a:g}, c={c:g}"] = torch.exp(p_t) * eq12
    plot(
        classification_factors,
        p_t,
        "p_t",
        "f(p_t)",
        "Fig. 6(a): modulating factors (Eq. 12, 13)",
        out / "fig6a_modulation.png",
    )
    classification = classification_curves(p_t)
    plot(
        classification,
        p_t,
        "p_t (probability of the true class)",
        "loss",
        "Fig. 6(b): classification losses",
        out / "fig6b_classification_losses.png",
    )

    with open(out / "losses.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["figure", "curve", "x", "value"])
        for figure, x, curves in [
            ("4a", l, factors),
            ("4b", l, regression),
            ("6a", p_t, classification_factors),
            ("6b", p_t, classification),
        ]:
            for label, values in curves.items():
                writer.writerows([figure, label, f"{a:.6g}", f"{b:.8g}"] for a, b in zip(x.tolist(), values.tolist()))
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
