"""The training-curve summary of benchmarks/common.py (used by training_curves.py and the DSLT classification
ablation) on logs with known losses."""

from __future__ import annotations


import numpy as np
import pytest

from siamtrack.training.plots import running_mean


@pytest.fixture(scope="module")
def common():
    import common  # benchmarks/common.py (tests/conftest.py puts benchmarks/ on sys.path)

    return common


def write_log(path, losses):
    path.mkdir(parents=True)
    rows = ["step,epoch,iteration,loss,lr"] + [f"{i},0,{i},{loss},0.01" for i, loss in enumerate(losses)]
    (path / "log.csv").write_text("\n".join(rows) + "\n")


def test_moving_average_and_convergence_index(common):
    np.testing.assert_allclose(running_mean(np.array([1.0, 2, 3, 4]), 2), [1.5, 2.5, 3.5])
    np.testing.assert_allclose(running_mean(np.array([1.0, 3]), 10), [2.0])  # window capped
    curve = np.array([10.0, 5, 1.2, 0.95, 1.05, 1.0])  # within 10 % of the final 1.0 from index 3 on
    assert common.iterations_to_converge(curve) == 3
    assert common.iterations_to_converge(np.ones(4)) == 0


def test_training_curves_table(common, tmp_path):
    falling = [2.0 - i / 100 for i in range(100)]  # 2.00 -> 1.01, linear
    flat = [1.0] * 40
    write_log(tmp_path / "falling", falling)
    write_log(tmp_path / "flat", flat)
    table = common.training_curves(
        {"falling": tmp_path / "falling", "flat": tmp_path / "flat"},
        tmp_path / "curves.png",
        tmp_path / "curves.md",
        window=10,
    )
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in table.splitlines()[2:]
    }
    # by hand: the moving average over 10 is s_j = 2 - (j + 4.5) / 100, j = 0..90 (1.955 -> 1.055); it stays within
    # 10 % of 1.055 (s_j <= 1.1605) from j = 80 on (s_79 = 1.165, s_80 = 1.155); final / first = 1.055 / 1.955 =
    # 0.5396; the last fifth starts at j = int(91 * 0.8) = 72, s_72 = 1.235: 1.055 / 1.235 - 1 = -14.57 %
    assert rows["falling"] == ["100", "80", "0.540", "-14.6%"]
    assert rows["flat"] == ["40", "0", "1.000", "+0.0%"]
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert (tmp_path / "curves.md").read_text() == table


def test_empty_log_names_the_file(common, tmp_path):
    write_log(tmp_path / "empty", [])
    with pytest.raises(SystemExit, match="empty/log.csv: no logged iterations"):
        common.training_curves({"empty": tmp_path / "empty"}, tmp_path / "curves.png", tmp_path / "curves.md")
