"""Checking names against what is allowed, with errors that say what was given and what is allowed."""
from __future__ import annotations

from typing import Any, Iterable, Sequence


def check_choice(what: str, given: Any, allowed: Iterable[Any], quoted: bool = False) -> None:
    """Raise ``ValueError`` naming ``given`` and the allowed values (``quoted``: as Python literals) unless
    ``given`` is one of them."""
    allowed = list(allowed)
    if given not in allowed:
        raise ValueError(f"unknown {what} {given!r}; allowed: {', '.join(map(repr if quoted else str, allowed))}")


def check_names(what: str, given: Iterable[Any], allowed: Sequence[Any], prefixes: Sequence[str] = (),
                nonempty: bool = False) -> list:
    """``given`` as a list when every name is allowed (or starts with one of ``prefixes``, e.g. ``file:``);
    otherwise, or when ``nonempty`` and nothing was given, ``ValueError`` naming the bad ones and the allowed."""
    given = list(given)
    bad = [g for g in given if g not in allowed and not (prefixes and str(g).startswith(tuple(prefixes)))]
    if bad or (nonempty and not given):
        raise ValueError(f"unknown {what} {bad or given}; allowed: {', '.join(map(str, allowed))}")
    return given
