"""DSLT's losses (Lu et al., TPAMI 2020): values at chosen points (closed forms computed by hand), gradients
against hand-derived closed forms and autograd (gradcheck), and the shapes claimed by Fig. 4 and Fig. 6."""

from __future__ import annotations

import math

import pytest
import torch

from siamtrack.losses import (
    balanced_weights,
    bce_with_logits_loss,
    focal_bce_loss,
    l2_loss,
    l3_loss,
    ohnm_l2_loss,
    shrinkage_bce_loss,
    shrinkage_loss,
    shrinkage_modulation,
)


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def double(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------- regression


def test_modulating_factor_eq5_at_chosen_points():
    l = double([0.0, 0.2, 0.5, 1.0])
    expected = [
        1 / (1 + math.exp(10 * 0.2)),
        0.5,
        1 / (1 + math.exp(10 * (0.2 - 0.5))),
        1 / (1 + math.exp(10 * (0.2 - 1.0))),
    ]
    assert shrinkage_modulation(l, a=10, c=0.2).tolist() == pytest.approx(expected, rel=1e-12)
    assert shrinkage_modulation(double([0.6]), a=6, c=0.6).item() == pytest.approx(0.5)


def test_l3_loss_is_l_cubed_at_gamma_1_and_l2_at_gamma_0():
    responses, targets = double([[0.5, 0.1, 1.0]]), double([[0.0, 0.4, 0.2]])
    assert l3_loss(responses, targets).item() == pytest.approx(0.5**3 + 0.3**3 + 0.8**3, rel=1e-12)
    assert l3_loss(responses, targets, gamma=0.0).item() == pytest.approx(l2_loss(responses, targets).item())
    assert l3_loss(responses, targets, gamma=2.0).item() == pytest.approx(0.5**4 + 0.3**4 + 0.8**4, rel=1e-12)


def test_shrinkage_loss_values_eq6_and_eq7():
    # l = 0.2 (= c): modulation 1/2; l = 0.5; l = 0 (no loss). Labels 1, 0, 0.3.
    responses, targets = double([[0.8, 0.5, 0.3]]), double([[1.0, 0.0, 0.3]])
    eq6 = 0.04 * 0.5 + 0.25 * sig(3.0) + 0.0
    assert shrinkage_loss(responses, targets, importance=False).item() == pytest.approx(eq6, rel=1e-12)
    eq7 = math.e * 0.04 * 0.5 + 1.0 * 0.25 * sig(3.0)
    assert shrinkage_loss(responses, targets).item() == pytest.approx(eq7, rel=1e-12)
    # other a, c (Table 3 grid): a = 6, c = 0.6 at l = 0.5
    assert shrinkage_loss(double([[0.5]]), double([[0.0]]), a=6, c=0.6).item() == pytest.approx(
        0.25 * sig(6 * (0.5 - 0.6)), rel=1e-12
    )


def test_shrinkage_loss_gradient_closed_form_and_gradcheck():
    responses = double([[0.9, -0.3, 0.25, 0.6, 0.05]]).requires_grad_(True)
    targets = double([[1.0, 0.0, 0.0, 0.2, 0.05]])
    shrinkage_loss(responses, targets).backward()
    r, y = responses.detach(), targets
    l = (r - y).abs()
    s = torch.sigmoid(10 * (l - 0.2))
    expected = torch.exp(y) * (r - y) * (2 * s + 10 * l * s * (1 - s))
    torch.testing.assert_close(responses.grad, expected, rtol=1e-12, atol=1e-15)
    assert responses.grad[0, 4].item() == 0.0  # l = 0: no gradient
    random = torch.rand(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: shrinkage_loss(x, labels), (random,))
    assert torch.autograd.gradcheck(lambda x: shrinkage_loss(x, labels, a=6, c=0.6, importance=False), (random,))
    assert torch.autograd.gradcheck(lambda x: l3_loss(x, labels), (random,))


def test_l3_gradient_closed_form():
    responses = double([[0.7, -0.2]]).requires_grad_(True)
    targets = double([[0.2, 0.1]])
    l3_loss(responses, targets).backward()
    torch.testing.assert_close(responses.grad, double([[3 * 0.5**2, -3 * 0.3**2]]), rtol=1e-12, atol=0)


def test_fig4_shrinkage_only_shrinks_easy_samples():
    """Fig. 4(b): shrinkage (Eq. 6) <= L2 everywhere, ~L2 for hard samples (l > 0.5), a small fraction of L2
    for easy ones (l < 0.1); L3 shrinks hard samples too (l³ < l² for l < 1)."""
    l = torch.linspace(0.001, 1.0, 1000, dtype=torch.float64)[:, None]  # one sample per pair
    zero = torch.zeros_like(l)
    square = l2_loss(l, zero, reduction="none")
    shrunk = shrinkage_loss(l, zero, importance=False, reduction="none")
    cubed = l3_loss(l, zero, reduction="none")
    hard, easy = l[:, 0] > 0.5, l[:, 0] < 0.1
    assert torch.all(shrunk <= square)
    assert torch.all(shrunk[hard] >= 0.95 * square[hard])
    assert torch.all(shrunk[easy] <= 0.27 * square[easy])
    assert torch.all(cubed[hard & (l[:, 0] < 0.9)] < 0.9 * square[hard & (l[:, 0] < 0.9)])


def test_ohnm_excludes_easy_samples_only():
    responses, targets = double([[0.005, 0.5, -0.02, 0.0]]), double([[0.0, 0.0, 0.0, 0.0]])
    assert ohnm_l2_loss(responses, targets).item() == pytest.approx(0.25 + 0.0004, rel=1e-12)
    responses.requires_grad_(True)
    ohnm_l2_loss(responses, targets).backward()
    torch.testing.assert_close(responses.grad, double([[0.0, 1.0, -0.04, 0.0]]))
    assert ohnm_l2_loss(responses, targets, threshold=0.0).item() == pytest.approx(l2_loss(responses, targets).item())


# ------------------------------------------------------------------------------------------ classification


def test_focal_bce_values_eq11():
    v = double([[0.0, 2.0, -1.0]])
    t = double([[1.0, 0.0, 1.0]])
    w = double([[0.5, 0.25, 0.25]])
    p = [0.5, sig(2.0), sig(-1.0)]
    expected = (
        0.5 * (1 - p[0]) ** 2 * -math.log(p[0])
        + 0.25 * p[1] ** 2 * -math.log(1 - p[1])
        + 0.25 * (1 - p[2]) ** 2 * -math.log(p[2])
    )
    assert focal_bce_loss(v, t, w).item() == pytest.approx(expected, rel=1e-12)
    # gamma = 0: the weighted BCE of Eq. 10
    assert focal_bce_loss(v, t, w, gamma=0.0).item() == pytest.approx(bce_with_logits_loss(v, t, w).item(), rel=1e-12)


def test_focal_bce_gradient_closed_form():
    v = double([[0.4, -1.3, 2.2]]).requires_grad_(True)
    t = double([[1.0, 1.0, 0.0]])
    w = double([[0.2, 0.3, 0.5]])
    focal_bce_loss(v, t, w, gamma=2.0).backward()
    p = torch.sigmoid(v.detach())
    positive = -w * (1 - p) ** 2 * ((1 - p) - 2 * p * torch.log(p))
    negative = w * p**2 * (p - 2 * (1 - p) * torch.log(1 - p))  # the y = 1 form at p_t = 1 - p, sign flipped
    torch.testing.assert_close(v.grad, torch.where(t > 0, positive, negative), rtol=1e-12, atol=1e-15)


def test_shrinkage_bce_values_eq14_with_corrected_negative_case():
    a, c = 10.0, 0.6
    v = double([[0.0, 1.5, -0.7]])
    t = double([[1.0, 0.0, 0.0]])
    p = [0.5, sig(1.5), sig(-0.7)]
    positive = math.exp(p[0]) / (1 + math.exp(a * (p[0] - c))) * -math.log(p[0])
    negative1 = math.exp(1 - p[1]) / (1 + math.exp(a * ((1 - p[1]) - c))) * -math.log(1 - p[1])
    negative2 = math.exp(1 - p[2]) / (1 + math.exp(a * ((1 - p[2]) - c))) * -math.log(1 - p[2])
    w = torch.ones_like(v)
    assert shrinkage_bce_loss(v, t, w).item() == pytest.approx(positive + negative1 + negative2, rel=1e-12)
    without = (
        1 / (1 + math.exp(a * (p[0] - c))) * -math.log(p[0])
        + 1 / (1 + math.exp(a * ((1 - p[1]) - c))) * -math.log(1 - p[1])
        + 1 / (1 + math.exp(a * ((1 - p[2]) - c))) * -math.log(1 - p[2])
    )
    assert shrinkage_bce_loss(v, t, w, importance=False).item() == pytest.approx(without, rel=1e-12)


def test_shrinkage_bce_is_symmetric_in_the_classes():
    """With the OCR slip fixed, the y = 0 case at logit v equals the y = 1 case at -v (both are -f(p_t) log p_t)."""
    v = torch.linspace(-6, 6, 49, dtype=torch.float64)[None]
    ones, zeros = torch.ones_like(v), torch.zeros_like(v)
    torch.testing.assert_close(
        shrinkage_bce_loss(v, zeros, ones, reduction="none"), shrinkage_bce_loss(-v, ones, ones, reduction="none")
    )


def test_shrinkage_bce_gradient_closed_form_and_gradcheck():
    a, c = 10.0, 0.6
    v = double([[0.3, -2.0, 1.1]]).requires_grad_(True)
    t = torch.ones_like(v)
    w = double([[0.5, 0.2, 0.3]])
    shrinkage_bce_loss(v, t, w).backward()
    p = torch.sigmoid(v.detach())
    s = torch.sigmoid(a * (p - c))
    expected = -w * torch.exp(p) * (1 - s) * p * (1 - p) * ((1 - a * s) * torch.log(p) + 1 / p)
    torch.testing.assert_close(v.grad, expected, rtol=1e-12, atol=1e-15)
    v.grad = None
    shrinkage_bce_loss(v, t, w, importance=False).backward()
    expected = -w * (1 - s) * p * (1 - p) * (-a * s * torch.log(p) + 1 / p)
    torch.testing.assert_close(v.grad, expected, rtol=1e-12, atol=1e-15)
    scores = torch.randn(2, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.where(torch.rand(2, 1, 5, 5) > 0.8, 1.0, -1.0).double()
    weights = balanced_weights(labels)
    targets = (labels + 1) / 2
    assert torch.autograd.gradcheck(lambda x: shrinkage_bce_loss(x, targets, weights), (scores,))
    assert torch.autograd.gradcheck(lambda x: focal_bce_loss(x, targets, weights), (scores,))


def test_fig6_shrinkage_keeps_hard_samples_focal_does_not():
    """Fig. 6(b): for hard samples (p_t < 0.4) the shrinkage loss stays within a few percent of the BCE (or above
    it); for easy ones (p_t >= 0.9) it is about a tenth of it or less; focal loss (γ = 2) shrinks hard samples
    too."""
    p_t = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)[:, None]  # one sample per pair
    v = torch.log(p_t / (1 - p_t))
    ones = torch.ones_like(v)
    bce = bce_with_logits_loss(v, ones, ones, reduction="none")
    shrunk = shrinkage_bce_loss(v, ones, ones, reduction="none")
    focal = focal_bce_loss(v, ones, ones, reduction="none")
    hard, easy = p_t[:, 0] < 0.4, p_t[:, 0] >= 0.9
    assert torch.all(shrunk[hard] >= 0.97 * bce[hard])
    assert torch.all(shrunk[easy] <= 0.12 * bce[easy])
    clearly_hard = hard & (p_t[:, 0] >= 0.05)
    assert torch.all(focal[clearly_hard] < 0.91 * bce[clearly_hard])  # (1 - p_t)^2 <= 0.95^2
    assert shrunk[49].item() > bce[49].item()  # p_t = 0.5: exp(p_t) lifts the loss above the BCE (Fig. 6 red)


def test_classification_losses_are_finite_for_extreme_logits():
    v = double([[-800.0, 800.0, 40.0]]).requires_grad_(True)
    t = double([[1.0, 0.0, 1.0]])
    for loss in (focal_bce_loss, shrinkage_bce_loss):
        value = loss(v, t)
        value.backward()
        assert math.isfinite(value.item()) and torch.all(torch.isfinite(v.grad))
        v.grad = None


def test_balanced_weights_are_eq10_class_ratios_up_to_a_constant():
    """Eq. 10: β1 (positives) : β2 (negatives) = N_neg : N_pos -- the ratio SiamFC's balanced weights have."""
    labels = torch.tensor([[1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.0]])
    weights = balanced_weights(labels)
    n_pos, n_neg = 2, 5
    assert (weights[0, 0] / weights[0, 2]).item() == pytest.approx(n_neg / n_pos)
    assert weights[0, 7].item() == 0.0


def test_losses_reject_shape_mismatch():
    with pytest.raises(ValueError, match="does not broadcast"):
        shrinkage_loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 5, 5))
    with pytest.raises(ValueError, match="gamma"):
        l3_loss(torch.zeros(1, 2), torch.zeros(1, 2), gamma=-1.0)


def test_plot_losses_script_draws_figures_4_and_6(tmp_path):
    """``python benchmarks/plot_losses.py --out DIR`` reproduces Fig. 4 and 6 from the library's losses."""
    import csv
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "plot_losses.py"
    spec = importlib.util.spec_from_file_location("plot_losses", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    for name in ("fig4a_modulation", "fig4b_regression_losses", "fig6a_modulation", "fig6b_classification_losses"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    with open(tmp_path / "losses.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["figure"] == "4b" and row["x"] == "0.5"]
    values = {row["curve"]: float(row["value"]) for row in rows}
    assert values["L2 (Eq. 3)"] == pytest.approx(0.25) and values["L3 (Eq. 4, γ=1)"] == pytest.approx(0.125)
    assert values["shrinkage (Eq. 6, a=10, c=0.2)"] == pytest.approx(0.25 * sig(3.0), rel=1e-6)
