"""OpenCV's CSRT and KCF trackers behind the siamtrack :class:`Tracker` API: reference baselines for
accuracy (``siamtrack eval --tracker opencv-csrt --weights random``) and speed (``siamtrack bench``).

They live in OpenCV's contrib build, ``opencv-contrib-python-headless``, the OpenCV that siamtrack depends on
(``siamtrack[bench]`` pins the version the RESULTS.md rows used); the plain ``opencv-python(-headless)`` wheels lack
them. Every OpenCV wheel installs the same ``cv2`` package and the one installed last wins, so installing another
one next to it (the vot-toolkit requires ``opencv-python``: install it with ``--no-deps``, see pyproject.toml)
removes them. :func:`opencv_tracker_factories` finds the constructors in either layout:

* OpenCV >= 4.5.1 and 5.x: ``cv2.TrackerCSRT_create`` / ``cv2.TrackerKCF_create`` (integer boxes);
* OpenCV 3.x-4.5.0 builds and the ``legacy`` API: ``cv2.legacy.Tracker*_create`` (float boxes).

Conversions at the edge (the rest of siamtrack sees RGB frames and 0-based float ``x, y, w, h`` boxes):

* frames are flipped RGB -> BGR, the order OpenCV's colour features (CSRT's colour names) assume;
* the first box is given to OpenCV as integers, each of ``x, y, w, h`` rounded half up to the nearest
  pixel (``floor(v + 0.5)``; ``w, h`` at least 1): position and size each move by at most half a pixel.
  (Rounding the corners instead changes CSRT's dev-eval AUC by -0.002, all of it on ``horse``, whose box is
  fractional: CSRT is that sensitive to a sub-pixel start.) The boxes OpenCV returns are taken as floats;
* when OpenCV reports failure (``ok == False``) the last box is kept and ``confidence`` is 0; otherwise
  ``confidence`` is 1 (OpenCV exposes no score for these two); after ``init`` it is NaN, as for every tracker.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from siamtrack.imaging import rgb_to_bgr
from siamtrack.trackers.base import Tracker, check_initial_box

OPENCV_TRACKERS = ("CSRT", "KCF")
CONTRIB_HINT = (
    "this OpenCV build lacks it: another OpenCV wheel has replaced siamtrack's contrib build; "
    "`pip uninstall` the other opencv-* wheels, then "
    "`pip install --force-reinstall opencv-contrib-python-headless`"
)


def opencv_tracker_factory(kind: str, cv2_module=None) -> Callable[..., object] | None:
    """The constructor of OpenCV tracker ``kind`` (``"CSRT"``, ``"KCF"``) in this OpenCV, or None."""
    if cv2_module is None:
        import cv2 as cv2_module
    factory = getattr(cv2_module, f"Tracker{kind}_create", None)
    if factory is None:  # OpenCV 4.x/5.x class method, then the legacy API
        factory = getattr(getattr(cv2_module, f"Tracker{kind}", None), "create", None)
    if factory is None and hasattr(cv2_module, "legacy"):
        factory = getattr(cv2_module.legacy, f"Tracker{kind}_create", None)
    return factory


def opencv_tracker_factories(cv2_module=None) -> dict[str, Callable[..., object] | None]:
    """``{"opencv-csrt": constructor or None, "opencv-kcf": ...}`` for this OpenCV build."""
    return {f"opencv-{kind.lower()}": opencv_tracker_factory(kind, cv2_module) for kind in OPENCV_TRACKERS}


def opencv_box(box) -> tuple[int, int, int, int]:
    """0-based float ``x, y, w, h`` -> integer box for OpenCV, each value rounded half up (w, h >= 1)."""
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise ValueError(f"OpenCV tracker: initial box must be 4 finite numbers with w, h > 0, got {list(box)}")
    return math.floor(x + 0.5), math.floor(y + 0.5), max(1, math.floor(w + 0.5)), max(1, math.floor(h + 0.5))


class OpenCVTracker(Tracker):
    """An OpenCV tracker (``cv2.Tracker*``) as a siamtrack tracker; see the module doc for conversions.

    ``factory`` builds a fresh OpenCV tracker object (``init(bgr, box)``, ``update(bgr) -> (ok, box)``);
    by default this OpenCV's constructor for :attr:`opencv_kind`. ``params`` set fields of OpenCV's
    ``Tracker<kind>_Params`` (e.g. CSRT's ``psr_threshold``), checked by name.
    """

    name = "opencv"
    opencv_kind: str = ""
    needs_weights = False  # build_tracker(name) without weights does not look for a bundled file

    def __init__(self, factory: Callable[..., object] | None = None, **params):
        super().__init__()
        if factory is None:
            factory = opencv_tracker_factory(self.opencv_kind)
            if factory is None:
                raise RuntimeError(f"OpenCV tracker {self.opencv_kind or '?'}: {CONTRIB_HINT}")
        self._factory, self._params = factory, self._make_params(params)
        self._tracker, self._box = None, None

    def _make_params(self, params: dict):
        if not params:
            return None
        import cv2

        params_class = getattr(cv2, f"Tracker{self.opencv_kind}_Params", None)
        if params_class is None:
            raise TypeError(
                f"{self.name}: this OpenCV has no Tracker{self.opencv_kind}_Params; cannot set {sorted(params)}"
            )
        result = params_class()
        known = sorted(n for n in dir(result) if not n.startswith("_"))
        for key, value in params.items():
            if key not in known:
                raise TypeError(
                    f"{self.name}: unknown hyper-parameter {key!r}; "
                    f"Tracker{self.opencv_kind}_Params has {', '.join(known)}"
                )
            setattr(result, key, value)
        return result

    @classmethod
    def from_weights(cls, weights, **hyperparameters) -> OpenCVTracker:
        """The registry's constructor: OpenCV's trackers have no weights (pass ``"random"`` or nothing)."""
        if weights is not None:
            raise ValueError(
                f"tracker {cls.name!r} is OpenCV's {cls.opencv_kind} and takes no weights, got "
                f"{getattr(weights, 'source', weights)}; pass weights='random' (--weights random) "
                f"or none"
            )
        return cls(**hyperparameters)

    def init(self, image: np.ndarray, box) -> None:
        self._box = check_initial_box(box, self.name, image).copy()
        self._tracker = self._factory() if self._params is None else self._factory(self._params)
        if self._tracker.init(rgb_to_bgr(image), opencv_box(self._box)) is False:  # the legacy API's bool
            raise RuntimeError(f"{self.name}: OpenCV refused to start on box {self._box.tolist()}")
        self.confidence = float("nan")  # no score on the first frame (was 1.0 before 0.1.0)

    def update(self, image: np.ndarray) -> np.ndarray:
        if self._tracker is None:
            raise RuntimeError(f"{self.name}: update() called before init()")
        ok, box = self._tracker.update(rgb_to_bgr(image))
        self.confidence = 1.0 if ok else 0.0
        if ok:
            self._box = np.asarray(box, dtype=np.float64).reshape(4)
        return self._box.copy()


class OpenCVCSRTTracker(OpenCVTracker):
    """OpenCV's CSRT (Lukežič et al., CSR-DCF, CVPR 2017)."""

    name = "opencv-csrt"
    opencv_kind = "CSRT"


class OpenCVKCFTracker(OpenCVTracker):
    """OpenCV's KCF (Henriques et al., TPAMI 2015)."""

    name = "opencv-kcf"
    opencv_kind = "KCF"
