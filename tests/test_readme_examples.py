"""README.md's examples stay right: the fenced blocks marked ``<!-- tested example -->`` are run as written (shell
commands through the installed console script, Python blocks with this interpreter; ``../shared`` is the shared
data folder, outputs go to a temporary folder), and every ``siamtrack`` command in any shell block of the README
parses with today's command line and uses no deprecated spelling."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, shared_path

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
README = REPO_ROOT / "README.md"
MARKER = "<!-- tested example -->"


def fenced_blocks(text: str) -> list[tuple[str, str, bool]]:
    """``(language, code, marked)`` for every fenced block; ``marked`` when the line before the fence is
    :data:`MARKER`."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[index])
        if not match:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marked = index > 0 and lines[index - 1].strip() == MARKER
        blocks.append((match.group(1), "\n".join(lines[index + 1 : end]), marked))
        index = end + 1
    return blocks


def shell_commands(code: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [
        line.split("  #")[0].strip()
        for line in joined.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def siamtrack_arguments(command: str) -> list[str] | None:
    """The arguments after ``siamtrack`` (or ``-m siamtrack.cli`` / ``-m siamtrack``) in one ``&&`` part of
    ``command``, or ``None`` where it runs no siamtrack command."""
    for part in command.split("&&"):
        words = shlex.split(part)
        for index, word in enumerate(words):
            if word.endswith("bin/siamtrack") or word == "siamtrack":
                return words[index + 1 :]
            if word in ("siamtrack.cli", "siamtrack") and index and words[index - 1] == "-m":
                return words[index + 1 :]
    return None


BLOCKS = fenced_blocks(README.read_text())
MARKED = [(language, code) for language, code, marked in BLOCKS if marked]


def test_the_readme_marks_examples_of_the_cli_and_the_python_api():
    languages = [language for language, _ in MARKED]
    assert languages.count("bash") >= 2 and "python" in languages, languages
    commands = [
        siamtrack_arguments(c)[0] for language, code in MARKED if language == "bash" for c in shell_commands(code)
    ]
    assert {"trackers", "track", "eval", "bench", "datasets"} <= set(commands), commands


def test_every_siamtrack_command_in_the_readme_parses_and_uses_no_deprecated_spelling():
    from siamtrack.cli import build_parser

    parser = build_parser()
    checked = 0
    for language, code, _ in BLOCKS:
        if language not in ("bash", "sh", "shell"):
            continue
        for command in shell_commands(code):
            arguments = siamtrack_arguments(command)
            if arguments is None:
                continue
            try:
                args = parser.parse_args(arguments)
            except SystemExit:
                pytest.fail(f"README command does not parse: {command}")
            checked += 1
            if args.command == "bench":
                assert args.frames_count is None and not (args.sequences or "x").strip().isdigit(), command
            if args.command == "datasets":
                assert args.name is None, f"positional datasets summary NAME ROOT is deprecated: {command}"
    assert checked >= 10


def _run_shell_example(command: str, shared: Path, cwd: Path) -> subprocess.CompletedProcess:
    arguments = siamtrack_arguments(command)
    assert arguments is not None and shlex.split(command)[0] == ".venv/bin/siamtrack", (
        f"a tested shell example runs one .venv/bin/siamtrack command per line: {command}"
    )
    arguments = [
        str(shared) + argument[len("../shared") :] if argument.startswith("../shared") else argument
        for argument in arguments
    ]
    return subprocess.run(
        [str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.parametrize("index", range(len(MARKED)))
def test_marked_readme_example_runs(index, tmp_path):
    shared = shared_path()
    language, code = MARKED[index]
    if language == "python":
        result = subprocess.run(
            [sys.executable, "-c", code.replace('"../shared', f'"{shared}')],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return
    assert language == "bash", language
    for command in shell_commands(code):
        result = _run_shell_example(command, shared, tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        name = siamtrack_arguments(command)[0]
        if name in ("track", "eval", "demo", "train"):  # the long commands end with their summary line
            summary = rf"^siamtrack {name}: (\d+ sequences, )?\d+ (frames|iterations), "
            assert re.search(summary, result.stdout, re.M), result.stdout
        if name == "track":
            max_frames = int(re.search(r"--max-frames (\d+)", command).group(1))
            out = tmp_path / shlex.split(command)[shlex.split(command).index("--out") + 1]
            assert len((out / "boxes.txt").read_text().splitlines()) == max_frames
