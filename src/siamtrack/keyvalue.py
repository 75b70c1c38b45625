"""One grammar for every ``KEY=VALUE`` item of the command line: ``--param`` (tracker hyper-parameters, ``track``
and ``eval``), ``--option`` (dataset reader options, ``eval``, ``report``, ``datasets summary``) and ``--set``
(training config overrides, ``train``). One parser (:func:`parse_items`), one error message format::

    --param 'window': expected KEY=VALUE, e.g. --param window_influence=0.2

KEY is a Python identifier (``window_influence``); ``--set`` takes a dotted path of them (``train.batch_size``,
``model.args.width``). VALUE is read, in this order, as

1. ``true`` / ``false`` (any case) -> a bool; ``null`` or ``~`` -> ``None``;
2. a Python literal: ``0.2``, ``1e-3``, ``16``, ``'cpu'``, ``(1, 2)``, ``[1, 2]``, ``None``, ``True``;
3. a YAML flow collection, for text that starts with ``[`` or ``{``: ``[a, b]``, ``{gamma: 2}``;
4. otherwise the text itself, as a string: ``dev-eval``, ``bfloat16``, ``/data/otb``.

(Before this module ``--set`` read VALUE as YAML, so ``yes`` / ``on`` were booleans and ``1e-3`` a string;
``--option`` kept everything but true/false a string. Now ``1e-3`` is a number and ``yes`` a string everywhere.)
"""

from __future__ import annotations

import ast

EXAMPLES = {"--param": "window_influence=0.2", "--option": "split=dev-eval", "--set": "train.batch_size=16"}


class KeyValueError(ValueError):
    """An item that is not ``KEY=VALUE`` (a usage error: exit status 2 on the command line)."""


def parse_value(text: str):
    """VALUE of a ``KEY=VALUE`` item (see the module doc for the order of the readings)."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if stripped[:1] in ("[", "{"):
        import yaml

        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            pass
    return text


def split_item(item: str, flag: str, dotted: bool = False) -> tuple[str, str]:
    """``"KEY=VALUE"`` -> ``("KEY", "VALUE")`` (the text of VALUE); a :class:`KeyValueError` in the one format
    ``{flag} {item!r}: expected KEY=VALUE, e.g. {flag} {example}`` for anything else."""
    key, separator, value = item.partition("=")
    key = key.strip()
    parts = key.split(".") if dotted else [key]
    if not separator or not all(part.isidentifier() for part in parts):
        form = "SECTION.KEY=VALUE" if dotted else "KEY=VALUE"
        example = EXAMPLES.get(flag, "name=value")
        raise KeyValueError(f"{flag} {item!r}: expected {form}, e.g. {flag} {example}")
    return key, value


def parse_items(items, flag: str, dotted: bool = False) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (a later item of the same KEY wins)."""
    return {key: parse_value(value) for key, value in (split_item(item, flag, dotted) for item in items)}


__all__ = ["KeyValueError", "parse_items", "parse_value", "split_item"]
