"""The one way a name in a registry or a config becomes a Python object: ``"package.module:attribute"``.

Used by the model registry (:data:`siamtrack.models.MODELS`), the tracker registry
(:data:`siamtrack.trackers.TRACKERS`), a config's ``model.name`` / ``loss.name`` given as ``module:function``
(:mod:`siamtrack.training.loop`) and the evaluation runner's tracker targets
(:class:`siamtrack.evaluation.runner.TrackerFactory`, which also accepts ``package.module.attribute``).
No torch: the evaluation modules import it.
"""

from __future__ import annotations

import importlib


def import_object(path: str, allow_dots: bool = False):
    """``"package.module:attribute"`` -> the attribute. With ``allow_dots``, ``"package.module.attribute"`` too
    (the part after the last dot). A ValueError for a path of another form; an ImportError naming the path when
    the module cannot be imported or has no such attribute."""
    module_name, _, attribute = path.partition(":")
    if not attribute and allow_dots:
        module_name, _, attribute = path.rpartition(".")
    if not attribute or not module_name:
        raise ValueError(f"import path {path!r} must have the form 'package.module:attribute'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attribute!r} (import path {path!r})") from None


__all__ = ["import_object"]
