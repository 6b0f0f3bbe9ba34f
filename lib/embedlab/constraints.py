"""Declarative parameter constraints for a study's :class:`~embedlab.study.Config` (as scikit-learn's
``_param_validation``): what a parameter may hold, and a ``describe()`` that is the "allowed:" part of its error.
:func:`param` declares a Config field with its default, constraint and doc.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Sequence


class Constraint:
    """What a parameter may hold; ``describe`` is the 'allowed:' part of the error."""

    def ok(self, v: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Int(Constraint):
    min: int | None = None
    max: int | None = None

    def ok(self, v):
        return isinstance(v, int) and not isinstance(v, bool) and (self.min is None or v >= self.min) \
            and (self.max is None or v <= self.max)

    def describe(self):
        return _range("an integer", self.min, self.max)


@dataclasses.dataclass(frozen=True)
class Float(Constraint):
    min: float | None = None
    max: float | None = None
    min_open: bool = False

    def ok(self, v):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            return False
        lo = self.min is None or (v > self.min if self.min_open else v >= self.min)
        return lo and (self.max is None or v <= self.max)

    def describe(self):
        return _range("a number", self.min, self.max, self.min_open)


@dataclasses.dataclass(frozen=True)
class Bool(Constraint):
    def ok(self, v):
        return isinstance(v, bool)

    def describe(self):
        return "True or False"


@dataclasses.dataclass(frozen=True)
class Str(Constraint):
    pattern: str | None = None  # a regular expression the whole string must match
    nonempty: bool = True

    def ok(self, v):
        return isinstance(v, str) and (bool(v) or not self.nonempty) and \
            (self.pattern is None or re.fullmatch(self.pattern, v) is not None)

    def describe(self):
        return "a string" + (f" matching {self.pattern}" if self.pattern else (" (non-empty)" if self.nonempty else ""))


class Choice(Constraint):
    """One of a fixed set of values (``prefixes``: or any string starting with one, e.g. ``file:``)."""

    def __init__(self, *values, prefixes: Sequence[str] = ()):
        self.values, self.prefixes = tuple(values), tuple(prefixes)

    def ok(self, v):
        try:
            if v in self.values:
                return True
        except TypeError:
            return False
        return bool(self.prefixes) and isinstance(v, str) and v.startswith(self.prefixes)

    def describe(self):
        out = "one of " + ", ".join(map(repr, self.values))
        return out + (" or a string starting with " + " / ".join(map(repr, self.prefixes)) if self.prefixes else "")


class ListOf(Constraint):
    """A list (a tuple is accepted) whose items all satisfy ``item``; ``min_len``/``max_len`` bound its length."""

    def __init__(self, item: Constraint, min_len: int = 1, max_len: int | None = None, unique: bool = False):
        self.item, self.min_len, self.max_len, self.unique = item, min_len, max_len, unique

    def ok(self, v):
        if not isinstance(v, (list, tuple)) or len(v) < self.min_len or (self.max_len and len(v) > self.max_len):
            return False
        if self.unique and len({repr(x) for x in v}) != len(v):
            return False
        return all(self.item.ok(x) for x in v)

    def describe(self):
        n = f"at least {self.min_len} " if self.min_len else ""
        n += f"at most {self.max_len} " if self.max_len else ""
        return f"a list of {n}items, each {self.item.describe()}" + (", no repeats" if self.unique else "")


class AnyOf(Constraint):
    """Any of several constraints (e.g. ``AnyOf(Choice(None), Int(min=1))``)."""

    def __init__(self, *options: Constraint):
        self.options = options

    def ok(self, v):
        return any(o.ok(v) for o in self.options)

    def describe(self):
        return " or ".join(o.describe() for o in self.options)


class DictOf(Constraint):
    """A dict whose keys and values satisfy ``key`` and ``value``."""

    def __init__(self, key: Constraint, value: Constraint, min_len: int = 0):
        self.key, self.value, self.min_len = key, value, min_len

    def ok(self, v):
        return isinstance(v, dict) and len(v) >= self.min_len and \
            all(self.key.ok(k) and self.value.ok(x) for k, x in v.items())

    def describe(self):
        return f"a mapping from {self.key.describe()} to {self.value.describe()}"


def Optional(c: Constraint) -> Constraint:  # noqa: N802 - reads like a type
    """``None`` or what ``c`` allows."""
    return AnyOf(Choice(None), c)


def _range(what, lo, hi, lo_open=False):
    if lo is not None and hi is not None:
        return f"{what} from {lo} to {hi}"
    if lo is not None:
        return f"{what} {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{what} <= {hi}"
    return what


def param(default: Any, constraint: Constraint, doc: str = "") -> Any:
    """A Config field: its default, what it allows and a one-line description."""
    meta = {"constraint": constraint, "doc": doc}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: copy_value(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def copy_value(x):
    """A copy of nested lists and dicts (other values are shared): a default no two Configs hold in common."""
    if isinstance(x, list):
        return [copy_value(i) for i in x]
    if isinstance(x, dict):
        return {k: copy_value(v) for k, v in x.items()}
    return x
