"""The study contract shared by the four studies.

* :class:`Config` — a dataclass whose fields are the notebook's parameters: the single home of every default,
  each field with a declarative constraint (``param(default, Int(min=1), "doc")``). ``from_parameters(globals())``
  builds it from a notebook's ``parameters`` cell; a bad value is a :class:`ConfigError` that names the parameter,
  what was given and what is allowed. ``.params`` is complete (defaults included) and JSON-ready.
* :class:`Results` — what every study returns: tables, declared **headlines** (a number or a difference with its
  95% interval, n, reference level and automatic flags), unavailable evaluation sets, flags, notes on how we
  differ from the papers, timings (kept apart from deterministic metrics) and findings generated from the numbers.

Metric keys follow one scheme: ``<task>/<subject>/<metric>`` (lower case, ``/``-separated), e.g.
``analogy.treebank/fasttext-sg/acc`` or ``sts.stsb/defsent-mean/spearman``.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
from typing import Any, ClassVar, Iterable, Sequence

from . import flags as _flags

# --------------------------------------------------------------------------- constraints


class ConfigError(ValueError):
    """A parameter value is not allowed; the message names it, what was given and what is allowed."""


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
        return dataclasses.field(default_factory=lambda d=default: _copy(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(x):
    if isinstance(x, list):
        return [_copy(i) for i in x]
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    return x


# --------------------------------------------------------------------------- Config


@dataclasses.dataclass
class Config:
    """Base of every study's configuration. Subclasses are dataclasses of ``param(...)`` fields."""

    study: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            c = f.metadata.get("constraint")
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                v = list(v)
                object.__setattr__(self, f.name, v)
            if c is not None and not c.ok(v):
                raise ConfigError(f"parameter {f.name!r}: given {v!r}; allowed: {c.describe()}")
        self.validate()

    def validate(self) -> None:
        """Checks that involve several parameters; raise :class:`ConfigError`. Override in subclasses."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter's default, as the notebook's ``parameters`` cell must spell it."""
        out = {}
        for f in dataclasses.fields(cls):
            out[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        return out

    @classmethod
    def build(cls, **given) -> "Config":
        """From keyword arguments; an unknown name is a :class:`ConfigError` with a did-you-mean."""
        names = cls.field_names()
        unknown = [k for k in given if k not in names]
        if unknown:
            hints = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, names, 1)) else repr(k)
                     for k in unknown]
            raise ConfigError(f"unknown parameter(s) {', '.join(hints)} for the {cls.study or cls.__name__} study; "
                              f"allowed: {', '.join(names)}")
        return cls(**given)

    @classmethod
    def from_parameters(cls, namespace: dict[str, Any]) -> "Config":
        """From a notebook's namespace (``globals()``): every field is taken from it, missing ones default."""
        return cls(**{k: namespace[k] for k in cls.field_names() if k in namespace})

    @property
    def params(self) -> dict[str, Any]:
        """The complete parameters, defaults included, under the notebook's names."""
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> "list[tuple[str, Any, str, str]]":
        """(name, default, allowed, doc) for every parameter: the notebook's parameter reference."""
        d = cls.defaults()
        return [(f.name, d[f.name], f.metadata["constraint"].describe() if "constraint" in f.metadata else "",
                 f.metadata.get("doc", "")) for f in dataclasses.fields(cls)]


# --------------------------------------------------------------------------- Results


def metric_key(*parts: Any) -> str:
    """One key scheme: parts lower-cased, spaces to '-', joined by '/'."""
    return "/".join(re.sub(r"\s+", "-", str(p).strip().lower()) for p in parts if p not in (None, ""))


@dataclasses.dataclass
class Reference:
    """The level a number must be read against: chance, majority class, ln N, the base encoder, a paper."""

    kind: str
    value: float


@dataclasses.dataclass
class Headline:
    """A declared headline: one number (or a difference a - b) with its interval, n, reference and flags."""

    key: str
    label: str
    value: float
    ci: tuple[float, float] | None = None
    n: int | None = None
    reference: Reference | None = None
    flags: list[str] = dataclasses.field(default_factory=list)
    a: str | None = None  # for a difference: what is compared ...
    b: str | None = None  # ... against what
    metric: str = ""
    higher_is_better: bool = True

    @property
    def is_difference(self) -> bool:
        return self.a is not None and self.b is not None

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ci"] = list(self.ci) if self.ci else None
        return d


@dataclasses.dataclass
class Flag:
    kind: str
    key: str
    message: str
    explanation: str = ""  # why, generated from this run's numbers (:meth:`Results.explain`); the flag stays


@dataclasses.dataclass
class Unavailable:
    """An evaluation set or step this run could not do, and why: part of the results, not an error."""

    name: str
    kind: str
    reason: str


def fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def _flag_kind(message: str) -> str:
    return message.split(" (")[0].split(":")[0]


@dataclasses.dataclass
class Results:
    """What a study returns; the report layer renders and records it without knowing the study."""

    study: str
    tables: dict[str, Any] = dataclasses.field(default_factory=dict)
    headlines: list[Headline] = dataclasses.field(default_factory=list)
    flags: list[Flag] = dataclasses.field(default_factory=list)
    unavailable: list[Unavailable] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)       # where we differ from the papers
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)  # deterministic numbers, one key scheme
    timings: dict[str, float] = dataclasses.field(default_factory=dict)  # seconds, kept apart
    key_figure: str | None = None
    published: Any = None  # a DataFrame of the papers' numbers (report.paper_figures), or None
    published_note: str = ""  # what the published panel is, or why there is none
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # study objects a notebook may want to plot

    # ---- building
    def add_table(self, name: str, df) -> Any:
        self.tables[name] = df
        return df

    def flag(self, kind: str, key: str, message: str) -> None:
        if not any(f.key == key and f.message == message for f in self.flags):
            self.flags.append(Flag(kind, key, message))

    def explain(self, kind: str, keys: Iterable[str], text: str) -> int:
        """Attach a generated explanation to the flags of ``kind`` on ``keys`` (they stay flagged); returns how many."""
        keys = set(keys)
        hit = [f for f in self.flags if f.kind == kind and f.key in keys]
        for f in hit:
            f.explanation = text
        return len(hit)

    def mark_unavailable(self, name: str, kind: str, reason: str) -> None:
        self.unavailable.append(Unavailable(name, kind, reason))

    def add_metrics(self, metrics: dict[str, float]) -> None:
        self.metrics.update(metrics)

    def headline(self, key: str, label: str, value: float, ci=None, n: int | None = None,
                 reference: Reference | None = None, ceiling: float | None = None, coverage: float | None = None,
                 higher_is_better: bool = True, metric: str = "", extra_flags: Iterable[str | None] = ()) -> Headline:
        """Declare a single number; flags (at chance/majority, at ceiling, low coverage, tiny n) are computed."""
        fl = [_flags.tiny_n(n), _flags.low_coverage(coverage) if coverage is not None else None]
        if reference is not None and reference.kind in ("chance", "majority", "majority class", "random"):
            fl.append(_flags.at_reference(value, reference.value, ci, reference.kind, higher_is_better))
        if ceiling is not None:
            fl.append(_flags.at_ceiling(value, ceiling))
        h = Headline(key, label, float(value), _ci(ci), n, reference, [m for m in [*fl, *extra_flags] if m],
                     metric=metric, higher_is_better=higher_is_better)
        return self._add(h)

    def compare(self, key: str, label: str, a: str, b: str, diff: float, ci=None, n: int | None = None,
                metric: str = "", higher_is_better: bool = True, b_is_base: bool = False,
                extra_flags: Iterable[str | None] = ()) -> Headline:
        """Declare a difference a - b with its paired interval; ``b_is_base`` flags a trained model below its base."""
        fl = [_flags.tiny_n(n)]
        if b_is_base:
            ci_ = _ci(ci)
            worse = (ci_ is not None and (ci_[1] < 0 if higher_is_better else ci_[0] > 0)) or \
                (ci_ is None and (diff < 0 if higher_is_better else diff > 0))
            if worse:
                fl.append(f"below base ({a} is {fmt(abs(diff))} {'lower' if higher_is_better else 'higher'} "
                          f"than {b})")
        h = Headline(key, label, float(diff), _ci(ci), n, Reference("no difference", 0.0),
                     [m for m in [*fl, *extra_flags] if m], a=a, b=b, metric=metric,
                     higher_is_better=higher_is_better)
        return self._add(h)

    def check_loss(self, key: str, losses: Sequence[float], n_classes: int | None = None) -> str | None:
        """Flag a training loss that does not fall or sits at ln N; returns the message (or None)."""
        msg = _flags.not_learning(losses, n_classes)
        if msg:
            self.flag("not learning", key, msg)
        return msg

    def _add(self, h: Headline) -> Headline:
        self.headlines = [x for x in self.headlines if x.key != h.key] + [h]
        for m in h.flags:
            self.flag(_flag_kind(m), h.key, m)
        return h

    # ---- reading
    @property
    def status(self) -> str:
        """``partial`` when something was unavailable or flagged, else ``ok``."""
        return "partial" if self.unavailable or self.flags else "ok"

    def findings(self) -> list[str]:
        """One sentence per headline, generated from its numbers (never written by hand)."""
        return [finding(h) for h in self.headlines]


def _ci(ci) -> tuple[float, float] | None:
    if ci is None:
        return None
    lo, hi = float(ci[0]), float(ci[1])
    return None if not (math.isfinite(lo) and math.isfinite(hi)) else (lo, hi)


def finding(h: Headline) -> str:
    """The sentence a headline supports: which is higher, by how much, with its interval, or no difference."""
    parts = ([f"95% CI {fmt(h.ci[0])} to {fmt(h.ci[1])}"] if h.ci else []) + ([f"n={h.n:,}"] if h.n else [])
    ci = f" ({', '.join(parts)})" if parts else ""
    flagged = f" Flagged: {'; '.join(h.flags)}." if h.flags else ""
    metric = f" in {h.metric}" if h.metric else ""
    if h.is_difference:
        if h.ci and h.ci[0] <= 0 <= h.ci[1]:
            s = f"{h.a} and {h.b} do not differ{metric} within noise: difference {fmt(h.value)}{ci}."
        elif h.value == 0:
            s = f"{h.a} and {h.b} score the same{metric}{ci}."
        else:
            better = (h.value > 0) == h.higher_is_better
            word = "higher" if h.value > 0 else "lower"
            s = (f"{h.a} is {word} than {h.b}{metric} by {fmt(abs(h.value))}{ci}"
                 f"{'' if better else ', i.e. worse'}.")
        return s + flagged
    ref = ""
    if h.reference is not None:
        ref = f"; {h.reference.kind} is {fmt(h.reference.value)}"
    return f"{h.label}: {fmt(h.value)}{ci}{ref}.{flagged}"
