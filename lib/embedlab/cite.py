"""What to cite for a run: the papers its study implements and every data set and model it read, as BibTeX.

Papers come from ``references`` in ``data/papers/<study>.yaml`` (each with a ``when``: the parameter values that use
it); assets from ``data/assets.yaml``: each asset read is cited as the data it is (an ``@misc`` of its source, version
and licence) and by the papers its ``cite`` names (BibTeX fields, or the key of a paper reference).
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any, Iterable, Mapping

import yaml

from . import assets, paths

#: the order fields are written in; others follow alphabetically
_ORDER = ("author", "editor", "title", "booktitle", "journal", "volume", "number", "pages", "publisher", "address",
          "year", "howpublished", "note", "doi", "url", "eprint", "archiveprefix")
_VERBATIM = {"doi", "url", "eprint", "archiveprefix", "pages"}
_SPECIAL = {c: "\\" + c for c in "&%$#_"}


@functools.lru_cache(maxsize=None)
def paper_references() -> dict[str, dict[str, dict[str, Any]]]:
    """``{study: {key: reference}}`` from every ``data/papers/*.yaml``."""
    out = {}
    for path in sorted(paths.PAPERS.glob("*.yaml")):
        refs = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("references") or {}
        out[path.stem] = {k: {**v, "key": k} for k, v in refs.items()}
    return out


def _applies(ref: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """A reference's ``when`` holds: each named parameter has (or, for a list, contains) one of the values."""
    for name, allowed in (ref.get("when") or {}).items():
        value = params.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        if not any(v in allowed for v in values):
            return False
    return True


def study_references(study: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The papers a study run with ``params`` implements."""
    return [r for r in paper_references().get(study, {}).values() if _applies(r, params)]


def _by_key(key: str) -> dict[str, Any]:
    for refs in paper_references().values():
        if key in refs:
            return refs[key]
    raise KeyError(f"citation key {key!r} is not a reference in data/papers/*.yaml")


def _where(a: "assets.Asset") -> dict[str, str]:
    """Where an asset comes from: its PyPI release, its files' common URL, or its hub repository and revision."""
    if a.kind == "pypi":
        return {"howpublished": f"PyPI: {a.package} {a.version}",
                "url": f"https://pypi.org/project/{a.package}/{a.version}/"}
    if a.kind == "url":
        urls = [f["url"] for f in a.files]
        common = urls[0] if len(urls) == 1 else os.path.commonprefix(urls).rsplit("/", 1)[0] + "/"
        return {"url": common}
    return {"howpublished": f"Hugging Face: {a.repo_id} (revision {a.revision})",
            "url": f"https://huggingface.co/{a.repo_id}"}


def asset_entry(name: str) -> dict[str, Any]:
    """An asset as the data set or model it is: an ``@misc`` with its source, version and licence."""
    a = assets.get(name)
    entry = {"key": name, "type": "misc", "title": a.description, **_where(a),
             "note": f"{a.citation}. Licence: {a.license}. Read as the embedlab asset {name!r}"}
    return {**entry, "year": a.year} if a.year else entry


def asset_references(names: Iterable[str]) -> list[dict[str, Any]]:
    """For each registered asset: its own entry, then the papers it names (a name the registry no longer holds,
    e.g. a test's stand-in, has nothing to cite and is left out)."""
    known = set(assets.registry())
    out = []
    for name in sorted(n for n in set(names) if not n.startswith("hub:") and n in known):
        out.append(asset_entry(name))
        out += [_by_key(c) if isinstance(c, str) else dict(c) for c in assets.get(name).cite]
    return out


def references(study: str, params: Mapping[str, Any], asset_names: Iterable[str]) -> list[dict[str, Any]]:
    """Every paper and data set of a run, each once (papers of the study first)."""
    seen, out = set(), []
    for ref in [*study_references(study, params), *asset_references(asset_names)]:
        if ref["key"] not in seen:
            seen.add(ref["key"])
            out.append(ref)
    return out


def _value(field: str, value: Any) -> str:
    text = str(value)
    if field not in _VERBATIM:
        text = "".join(_SPECIAL.get(ch, ch) for ch in text)
    return "{" + text + "}" if field != "title" else "{{" + text + "}}"


def bibtex(refs: Iterable[Mapping[str, Any]]) -> str:
    """BibTeX entries, one per reference (``when`` and other bookkeeping dropped)."""
    entries = []
    for ref in refs:
        fields = {k: v for k, v in ref.items() if k not in ("key", "type", "when") and v not in (None, "")}
        order = [f for f in _ORDER if f in fields] + sorted(set(fields) - set(_ORDER))
        body = ",\n".join(f"  {f} = {_value(f, fields[f])}" for f in order)
        entries.append(f"@{ref.get('type', 'misc')}{{{ref['key']},\n{body}\n}}\n")
    return "\n".join(entries)


def short(ref: Mapping[str, Any]) -> str:
    """One line for a report: ``Reimers & Gurevych 2019. Sentence-BERT: ...`` (an asset: its description)."""
    people = [p.strip() for p in str(ref.get("author") or ref.get("editor") or "").split(" and ") if p.strip()]
    surnames = [m.group(1) if (m := re.search(r"\{([^}]*)\}$", p)) else p.split()[-1] for p in people]
    who = (surnames[0] + " et al." if len(surnames) > 2 else " & ".join(surnames)) if surnames else ""
    where = ref.get("booktitle") or ref.get("journal") or (f"arXiv:{ref['eprint']}" if ref.get("eprint") else "") \
        or ref.get("howpublished") or ref.get("url") or ""
    if not who:  # a data set or model as read: its name, what it is, where from
        return f"{ref['key']}: {ref.get('title', '')} ({where})"
    return ". ".join(x for x in (f"{who} {ref.get('year', '')}".strip(), str(ref.get("title", "")), str(where)) if x) + "."
