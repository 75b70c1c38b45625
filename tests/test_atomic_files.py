"""Atomic writes: the one helper behind result files, reports, checkpoints and curated-data indexes."""

from __future__ import annotations

import pytest

from siamtrack.atomic_files import write_atomically, write_text_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "new" / "folder" / "result.txt"
    write_text_atomically(path, "1,2,3,4\n")
    assert path.read_text() == "1,2,3,4\n"

    def fail(handle):
        handle.write(b"torn")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_atomically(path, fail)
    assert path.read_text() == "1,2,3,4\n"
    assert [p.name for p in path.parent.iterdir()] == ["result.txt"]
