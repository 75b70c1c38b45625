"""Checkpoints: written atomically, read back with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors and plain Python values (no pickled objects): the model, optimizer and
scheduler state dicts, the position (``epoch``, ``iteration``), the random states of torch (CPU and CUDA),
numpy's legacy global generator and Python's ``random``, and the loss history.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from siamtrack.atomic_files import write_atomically


def save_atomically(obj, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`siamtrack.atomic_files.write_atomically`: a reader (or a run killed mid-write) sees
    either the old file or the new one, never a torn one."""
    write_atomically(path, lambda handle: torch.save(obj, handle))


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint (or exported weights) safely: ``torch.load(weights_only=True)``."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # corrupt file or disallowed (pickled) content
        raise ValueError(f"{path}: not a readable siamtrack checkpoint ({error})") from None


def rng_state() -> dict:
    """The global random states as tensors and plain values."""
    kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gauss": float(cached_gauss),
        },
        "python": {
            "version": version,
            "state": torch.tensor(python_state, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gauss"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(int(v) for v in python_state["state"].tolist()), python_state["gauss_next"])
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
