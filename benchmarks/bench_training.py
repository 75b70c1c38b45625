"""Training speed: iterations per second of the offline training step, per config, on this machine.

One iteration = loading and augmenting a global batch of pairs from the curated cache (``train.workers``
data-loader workers, 0 = in the main process) + forward + loss + backward + optimiser step, exactly as
``siamtrack.training.loop.train`` does it; for ``train.feature_cache`` configs (``pretrained/*-cached``) a batch of
cached trunk windows + the rest of the network, as ``siamtrack.training.feature_cache`` trains.
Per config: a warm-up of 2 iterations, then ``--runs`` runs of
``--iterations`` iterations; the median run is reported (wall and process-CPU time, data loading and the
rest apart). The curated data of each config is prepared first (cached; the first call curates).

    python benchmarks/bench_training.py [--configs siamfc siamfc-width0.5 cfnet-conv2 dcfnet] [--batch 8]
                                        [--iterations 10] [--runs 3] [--record]

Run from the repository root (the configs read ``../shared``). ``--record`` appends a section (machine,
commit, numbers) to ``benchmarks/RESULTS.md``. Timings are noisy on a shared machine: check the load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from common import append_results, command_line, provenance
from siamtrack.training.config import load_config
from siamtrack.training.curation import load_curated
from siamtrack.training.feature_cache import cached_batch_loss, cached_model_and_pairs
from siamtrack.training.loop import (
    build_model,
    build_optimizer,
    objective_function,
    pair_settings,
    prepare_curated,
    probe_score_size,
    training_loss,
)
from siamtrack.training.pairs import GlobalBatchSampler, PairDataset


def time_config(name: str, batch: int, iterations: int, runs: int) -> dict:
    config = load_config(
        f"bundled/{name}",
        [
            f"train.batch_size={batch}",
            "train.progress=false",
            f"data.pairs_per_epoch={batch * (iterations * runs + 2)}",
        ],
    )
    if config.train.feature_cache:
        return time_cached_config(name, config, batch, iterations, runs)
    _, curated = load_curated(prepare_curated(config, progress=True))
    torch.manual_seed(0)
    memory_format = torch.channels_last if config.train.channels_last else torch.contiguous_format
    model = build_model(config.model.name, dict(config.model.args)).to(memory_format=memory_format)
    dataset = PairDataset(
        curated,
        pair_settings(config, probe_score_size(model, config, torch.device("cpu"))),
        config.data.max_gap,
        config.train.seed,
    )
    optimizer = build_optimizer(model, config)
    objective = objective_function(config)
    model.train()
    loader = iter(
        torch.utils.data.DataLoader(
            dataset, num_workers=config.train.workers, batch_sampler=GlobalBatchSampler(0, iterations * runs + 2, batch)
        )
    )

    def loss_of(pairs: dict) -> torch.Tensor:
        for key in ("exemplar", "instance"):
            pairs[key] = pairs[key].contiguous(memory_format=memory_format)
        return training_loss(model, pairs, config, objective)

    return summarise(name, config, batch, timed_step(lambda: next(loader), loss_of, optimizer), iterations, runs)


def time_cached_config(name: str, config, batch: int, iterations: int, runs: int) -> dict:
    """The step of ``train.feature_cache`` configs: a batch of cached trunk windows (read from the memory-mapped
    cache, built first if missing), the rest of the network, loss, backward, optimiser step."""
    torch.manual_seed(0)
    model, pairs = cached_model_and_pairs(config, progress=True)
    optimizer, objective = build_optimizer(model, config), objective_function(config)
    model.train()
    count = iter(range(10**9))
    step = timed_step(
        lambda: pairs.batch(0, next(count) * batch, batch),
        lambda windows: cached_batch_loss(model, windows, pairs, config, objective),
        optimizer,
    )
    return summarise(name, config, batch, step, iterations, runs)


def timed_step(load_batch, loss_of, optimizer):
    """One training step as a function returning its (wall, data-loading wall, process CPU) seconds."""

    def step() -> tuple[float, float, float]:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        batch = load_batch()
        loaded = time.perf_counter()
        loss = loss_of(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        end = time.perf_counter()
        return end - start_wall, loaded - start_wall, time.process_time() - start_cpu

    return step


def summarise(name: str, config, batch: int, step, iterations: int, runs: int) -> dict:
    """2 warm-up steps, then ``runs`` runs of ``iterations`` steps; the run with the median wall time."""
    for _ in range(2):
        step()
    results = []
    for _ in range(runs):
        steps = np.array([step() for _ in range(iterations)])
        results.append(steps.sum(axis=0) / iterations)
    results = np.array(results)
    median = results[np.argsort(results[:, 0])[len(results) // 2]]
    return {
        "config": name,
        "model": config.model.name,
        "args": dict(config.model.args),
        "batch": batch,
        "crops": f"{config.data.exemplar_size}/{config.data.instance_size}",
        "workers": config.train.workers,
        "it_per_s": 1.0 / median[0],
        "ms_per_it": 1000 * median[0],
        "data_ms": 1000 * median[1],
        "cpu_ms": 1000 * median[2],
        "runs_it_per_s": [round(1.0 / float(r), 2) for r in results[:, 0]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["siamfc", "siamfc-width0.5", "cfnet-conv2", "dcfnet"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = [time_config(name, args.batch, args.iterations, args.runs) for name in args.configs]
    header = f"{provenance()}."
    table = [
        "| config | model | crops z/x | batch | it/s (median) | ms/it | of which data | CPU ms/it | runs (it/s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        table.append(
            f"| `{row['config']}` | {row['model']} {row['args']} | {row['crops']} | {row['batch']} | "
            f"{row['it_per_s']:.2f} | {row['ms_per_it']:.0f} | {row['data_ms']:.0f} | {row['cpu_ms']:.0f} | "
            f"{row['runs_it_per_s']} |"
        )
    print(header)
    print("\n".join(table))
    if args.record:
        append_results(
            "Training speed (`benchmarks/bench_training.py`)",
            f"Command: `{command_line(__file__)}` — one training iteration = batch loading/augmentation "
            f"from the curated cache (workers 0) + forward + loss + backward + SGD step; median of "
            f"{args.runs} runs of {args.iterations} iterations after 2 warm-up iterations.\n{header}\n\n"
            + "\n".join(table),
        )


if __name__ == "__main__":
    main()
