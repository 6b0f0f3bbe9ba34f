"""The study contract shared by the four studies.

* :class:`Config` — a dataclass whose fields are the notebook's parameters: the single home of every default,
  each field with a declarative constraint (``param(default, Int(min=1), "doc")``). ``from_parameters(globals())``
  builds it from a notebook's ``parameters`` cell; a bad value is a :class:`ConfigError` that names the parameter,
  what was given and what is allowed. ``.params`` is complete (defaults included) and JSON-ready.
* :class:`Results` — what every study returns: tables, declared **headlines** (a number or a difference with its
  95% interval, n, reference level and automatic flags), unavailable evaluation sets, flags, notes on how we
  differ from the papers, timings (kept apart from deterministic metrics) and findings generated from the numbers.
  ``to_dict()`` is what ``metrics.json`` holds (with a ``schema_version``); ``from_dict()`` reads it back, so the
  runner never interprets the file itself. A run's status (ok / partial) and its reasons are computed here only.

Metric keys follow one scheme: ``<task>/<subject>/<metric>`` (lower case, ``/``-separated), e.g.
``analogy.treebank/fasttext-sg/acc`` or ``sts.stsb/defsent-mean/spearman``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import re
import time
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence

from . import flags as _flags
from . import stats as _stats
from .constraints import (AnyOf, Bool, Choice, Constraint, DictOf, Float, Int, ListOf, Optional,  # noqa: F401
                          Str, copy_value, param)  # re-exported: the Config's vocabulary


class ConfigError(ValueError):
    """A parameter value is not allowed; the message names it, what was given and what is allowed."""


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
        return {f.name: copy_value(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    def assets(self) -> "list[Need]":
        """The registered assets this run reads, declared by each study from its fields through the registries
        (evaluation sets, corpora, encoders); ``run --check`` resolves them without running anything."""
        raise NotImplementedError(f"{type(self).__name__} declares no assets()")

    def user_files(self) -> "list[tuple[str, str]]":
        """``(parameter, path)`` of every file or folder the user named (``file:`` sets, ``slices:`` folders...);
        a study whose parameters may name an asset where a path could stand narrows this (cade, svc)."""
        from . import userfiles  # floor 1

        return [(u.param, u.text) for u in userfiles.find(self.params)]

    @classmethod
    def describe(cls) -> "list[tuple[str, Any, str, str]]":
        """(name, default, allowed, doc) for every parameter: the notebook's parameter reference."""
        d = cls.defaults()
        return [(f.name, d[f.name], f.metadata["constraint"].describe() if "constraint" in f.metadata else "",
                 f.metadata.get("doc", "")) for f in dataclasses.fields(cls)]


@dataclasses.dataclass(frozen=True)
class Need:
    """A registered asset a run reads (``hub:<id>``: a Hugging Face model that is not registered): ``what`` needs
    it (``parameter: value``); a ``skippable`` one is listed as unavailable instead of failing the run; of a
    ``group`` (e.g. the corpora) at least one must be had."""

    asset: str
    what: str
    skippable: bool = False
    group: str = ""


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
    seeds: int | None = None  # training seeds behind the number (None: nothing trained, items only)
    per_seed: list[float] | None = None  # the number (or difference) of each training seed
    expected: bool = False  # a sanity baseline that should sit at its reference (e.g. unaligned at chance)

    @property
    def is_difference(self) -> bool:
        return self.a is not None and self.b is not None

    @property
    def seed_note(self) -> str:
        """What the interval covers, and whether a difference replicates across training seeds."""
        if self.seeds is None:
            return ""
        if self.seeds <= 1:
            return "one training seed: the interval covers evaluation items only"
        base = f"{self.seeds} training seeds: the interval resamples seeds, then items"
        if not self.is_difference or not self.per_seed:
            return base
        agree, n = _stats.seed_agreement(self.per_seed)
        if n > 1 and agree == n and any(v != 0 for v in self.per_seed):
            return f"{base}; replicates across {n} seeds (every seed gives the same sign)"
        return f"{base}; does not replicate: {agree} of {n} seeds share the sign of the mean difference"

    @property
    def replicates(self) -> bool | None:
        """True when every seed agrees in sign (a difference over 2+ seeds), False when not, else None."""
        if not self.is_difference or not self.seeds or self.seeds < 2 or not self.per_seed:
            return None
        return "replicates" in self.seed_note

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ci"] = list(self.ci) if self.ci else None
        d["seed_note"] = self.seed_note
        d["replicates"] = self.replicates
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Headline":
        """The inverse of :meth:`as_dict` (``label`` defaults to ``key``; other missing fields to their defaults)."""
        ref = d.get("reference")
        return cls(key=str(d["key"]), label=str(d.get("label") or d["key"]), value=float(d["value"]),
                   ci=_ci(d.get("ci")), n=None if d.get("n") is None else int(d["n"]),
                   reference=Reference(str(ref["kind"]), float(ref["value"])) if ref else None,
                   flags=[str(m) for m in _items(d, "flags")], a=_opt_str(d.get("a")), b=_opt_str(d.get("b")),
                   metric=str(d.get("metric") or ""), higher_is_better=bool(d.get("higher_is_better", True)),
                   seeds=None if d.get("seeds") is None else int(d["seeds"]),
                   per_seed=None if d.get("per_seed") is None else [float(x) for x in d["per_seed"]],
                   expected=bool(d.get("expected", False)))


@dataclasses.dataclass
class Flag:
    """A :class:`embedlab.flags.Flag` attached to a metric key of the results."""

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


#: version of the layout :meth:`Results.to_dict` writes; a file without one is the same layout before versioning (0)
SCHEMA_VERSION = 1


def _items(doc: Mapping[str, Any], key: str) -> list:
    """``doc[key]`` as a list (missing or null: empty); anything else is not a results record."""
    x = doc.get(key)
    if x is None:
        return []
    if not isinstance(x, list):
        raise ValueError(f"{key!r} must be a list, got {type(x).__name__}")
    return x


def _opt_str(x: Any) -> str | None:
    if x is not None and not isinstance(x, str):
        raise ValueError(f"expected a string or null, got {type(x).__name__}")
    return x


def _as_flag(x: "_flags.Flag | str") -> "_flags.Flag":
    """A flag from :mod:`embedlab.flags`; a plain message (a study's own) is of kind ``flag``."""
    return x if isinstance(x, _flags.Flag) else _flags.Flag("flag", str(x))


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
    published: Any = None  # a DataFrame of the papers' numbers (papers.paper_figures), or None
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

    def load_or_skip(self, kind: str, name: str, loader: Callable[[], Any], missing_sets: str,
                     unavailable: type[BaseException] | tuple[type[BaseException], ...] | None = None) -> Any:
        """``loader()``, or ``None`` with ``name`` marked unavailable when its data cannot be had and
        ``missing_sets`` is ``"skip"``; with ``"fail"`` the error stops the run. The one home of that policy.

        ``unavailable`` names the exceptions that mean "cannot be had" (default: ``AssetUnavailable``, which
        ``EvalSetUnavailable`` is); anything else always raises."""
        if unavailable is None:
            from .assets import AssetUnavailable  # floor 2: below this module
            unavailable = AssetUnavailable
        try:
            return loader()
        except unavailable as exc:
            if missing_sets == "fail":
                raise
            self.mark_unavailable(name, kind, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None

    @contextlib.contextmanager
    def timed(self, name: str):
        """``with results.timed("train"):`` adds the block's wall time (seconds) to ``timings[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def headline(self, key: str, label: str, value: float, ci=None, n: int | None = None,
                 reference: Reference | None = None, ceiling: float | None = None, coverage: float | None = None,
                 higher_is_better: bool = True, metric: str = "",
                 extra_flags: Iterable[_flags.Flag | str | None] = (), seeds: int | None = None,
                 per_seed: Sequence[float] | None = None) -> Headline:
        """Declare a single number; flags (at chance/majority, at ceiling, low coverage, tiny n) are computed.
        ``seeds``: the training seeds behind it (None when nothing was trained), ``per_seed`` their values."""
        fl = [_flags.tiny_n(n), _flags.low_coverage(coverage) if coverage is not None else None]
        if reference is not None and reference.kind in ("chance", "majority", "majority class", "random"):
            fl.append(_flags.at_reference(value, reference.value, ci, reference.kind, higher_is_better))
        if ceiling is not None:
            fl.append(_flags.at_ceiling(value, ceiling))
        h = Headline(key, label, float(value), _ci(ci), n, reference, metric=metric, higher_is_better=higher_is_better,
                     seeds=seeds, per_seed=_floats(per_seed))
        return self._add(h, [*fl, *extra_flags])

    def expect(self, key: str, label: str, value: float, reference: Reference, ci=None, n: int | None = None,
               higher_is_better: bool = True, metric: str = "", seeds: int | None = None) -> Headline:
        """A sanity baseline that must sit at ``reference`` (e.g. unaligned vectors at chance): shown "as
        expected" when it does, and flagged only when it does not (then something upstream is wrong)."""
        at = _flags.at_reference(value, reference.value, ci, reference.kind, higher_is_better)
        h = Headline(key, label, float(value), _ci(ci), n, reference, metric=metric,
                     higher_is_better=higher_is_better, seeds=seeds, expected=True)
        found = [] if at else [_flags.Flag("baseline off its expected level",
                                           f"baseline off its expected level ({fmt(value)}, expected at "
                                           f"{reference.kind} {fmt(reference.value)})")]
        return self._add(h, found)

    def compare(self, key: str, label: str, a: str, b: str, diff: float, ci=None, n: int | None = None,
                metric: str = "", higher_is_better: bool = True, b_is_base: bool = False,
                extra_flags: Iterable[_flags.Flag | str | None] = (), seeds: int | None = None,
                per_seed: Sequence[float] | None = None) -> Headline:
        """Declare a difference a - b with its paired interval; ``b_is_base`` flags a trained model below its base.

        ``seeds``: training seeds behind it (None when nothing was trained); ``per_seed``: each seed's difference,
        from which the findings say whether it replicates. With 2+ seeds, ``ci`` should come from
        :func:`embedlab.stats.seeded_diff_ci` (seeds, then items resampled)."""
        fl = [_flags.tiny_n(n)]
        if b_is_base:
            ci_ = _ci(ci)
            worse = (ci_ is not None and (ci_[1] < 0 if higher_is_better else ci_[0] > 0)) or \
                (ci_ is None and (diff < 0 if higher_is_better else diff > 0))
            if worse:
                fl.append(_flags.Flag("below base", f"below base ({a} is {fmt(abs(diff))} "
                                                    f"{'lower' if higher_is_better else 'higher'} than {b})"))
        h = Headline(key, label, float(diff), _ci(ci), n, Reference("no difference", 0.0), a=a, b=b, metric=metric,
                     higher_is_better=higher_is_better, seeds=seeds, per_seed=_floats(per_seed))
        return self._add(h, [*fl, *extra_flags])

    def check_loss(self, key: str, losses: Sequence[float], n_classes: int | None = None) -> _flags.Flag | None:
        """Flag a training loss that does not fall or sits at ln N; returns the flag (or None)."""
        found = _flags.not_learning(losses, n_classes)
        if found:
            self.flag(found.kind, key, found.message)
        return found

    def _add(self, h: Headline, found: Iterable[_flags.Flag | str | None]) -> Headline:
        """Replace any headline of the same key; its flags go on the headline (messages) and on the results."""
        found = [_as_flag(f) for f in found if f]
        h.flags = [f.message for f in found]
        self.headlines = [x for x in self.headlines if x.key != h.key] + [h]
        for f in found:
            self.flag(f.kind, h.key, f.message)
        return h

    # ---- reading
    @property
    def status(self) -> str:
        """``partial`` when something was unavailable or flagged, else ``ok``: the one rule for a run's status."""
        return "partial" if self.partial_reasons() else "ok"

    def partial_reasons(self) -> list[str]:
        """Why the results are partial (empty when ok): unavailable sets, flagged headlines, other flags."""
        why = []
        if self.unavailable:
            why.append("unavailable: " + ", ".join(u.name for u in self.unavailable))
        flagged = [h for h in self.headlines if h.flags]
        if flagged:
            why.append(f"{len(flagged)} flagged headline(s): " + _first(h.label or h.key for h in flagged))
        on_headlines = {h.key for h in flagged}
        other = [f for f in self.flags if f.key not in on_headlines]
        if other:
            why.append(f"{len(other)} flag(s): " + _first(f"{f.kind} ({f.key})" for f in other))
        return why

    # ---- the record (metrics.json)
    def to_dict(self) -> dict[str, Any]:
        """What ``metrics.json`` holds of the results (``report.record`` adds parameters and provenance)."""
        return {"schema_version": SCHEMA_VERSION, "study": self.study, "status": self.status,
                "metrics": self.metrics, "headlines": [h.as_dict() for h in self.headlines],
                "flags": [dataclasses.asdict(f) for f in self.flags],
                "unavailable": [dataclasses.asdict(u) for u in self.unavailable], "findings": self.findings(),
                "notes": self.notes, "timings": self.timings, "key_figure": self.key_figure,
                "published": self.published_note or None}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Results":
        """Results read back from :meth:`to_dict`'s layout; status and findings are recomputed, other keys ignored.

        A file without ``schema_version`` (written before it existed) has the same keys and is read the same way;
        anything that is not such a record, or is of a newer schema, is a ``ValueError``."""
        if not isinstance(doc, Mapping):
            raise ValueError(f"a results record is a mapping, got {type(doc).__name__}")
        version = doc.get("schema_version", 0)
        if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} is not one this embedlab reads (0 to {SCHEMA_VERSION})")
        try:
            return cls(study=str(doc.get("study") or ""), metrics=dict(doc.get("metrics") or {}),
                       headlines=[Headline.from_dict(h) for h in _items(doc, "headlines")],
                       flags=[Flag(**f) for f in _items(doc, "flags")],
                       unavailable=[Unavailable(**u) for u in _items(doc, "unavailable")],
                       notes=[str(n) for n in _items(doc, "notes")], timings=dict(doc.get("timings") or {}),
                       key_figure=_opt_str(doc.get("key_figure")), published_note=_opt_str(doc.get("published")) or "")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a results record: {type(exc).__name__}: {exc}") from None

    def findings(self) -> list[str]:
        """One sentence per headline, generated from its numbers (never written by hand)."""
        return [finding(h) for h in self.headlines]


def _first(texts: Iterable[str], n: int = 3) -> str:
    texts = list(map(str, texts))
    return ", ".join(texts[:n]) + (", ..." if len(texts) > n else "")


def _floats(xs) -> list[float] | None:
    return None if xs is None else [float(x) for x in xs]


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
    if h.seed_note:
        flagged = f" {h.seed_note[0].upper()}{h.seed_note[1:]}.{flagged}"
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
        if h.expected and not h.flags:
            ref += f", as expected of this baseline (a sanity check, not a fault)"
    return f"{h.label}: {fmt(h.value)}{ci}{ref}.{flagged}"
