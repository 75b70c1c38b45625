"""Atomic file writing: a reader (or a run killed mid-write) sees either the old file or the new one, never a
torn one. Result files, reports, training checkpoints and curated-data indexes are all written this way."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Create ``path``'s folder, call ``write`` on a binary temporary file next to ``path``, flush and fsync it,
    then ``os.replace`` it onto ``path``. The temporary file is removed if anything fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """:func:`write_atomically` of ``text`` in UTF-8."""
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


__all__ = ["write_atomically", "write_text_atomically"]
