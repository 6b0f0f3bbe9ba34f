"""A researcher's own files, named by parameters: found, resolved, checked, hashed and recorded for provenance.

A user file is a ``file:<path>`` evaluation set, a ``slices:<path>`` corpus, or an item of a parameter whose name
ends in ``_path`` / ``_paths`` (CADE's ``user_paths``). ``slices:`` and ``*_paths`` may also name a registered
asset: a value that is an asset name and no existing path is left alone (``is_asset``).

A relative path resolves against a base folder: the plan file's folder (the runner makes every such path absolute
before the notebook sees it), else :func:`user_root` — ``$EMBEDLAB_USER_ROOT``, ``$JUPYTER_SERVER_ROOT``, in a
Jupyter kernel the folder JupyterLab was started from (``$PWD``, which the server hands its kernels; a kernel's own
working directory is the notebook's folder), else the working directory.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

PREFIXES = ("file:", "slices:")
PATH_SUFFIXES = ("_path", "_paths")


class UserFileMissing(ValueError):
    """A path the user named does not exist (the run fails; it is never "unavailable")."""


@dataclasses.dataclass(frozen=True)
class UserPath:
    """One user path in a run's parameters: the parameter, the value as given, its prefix and the path text."""

    param: str
    value: str
    prefix: str
    text: str

    def resolved(self, base: Path | str | None = None) -> Path:
        return resolve(self.text, base)


def _is_path_param(name: str) -> bool:
    return name.endswith(PATH_SUFFIXES) or name in ("path", "paths")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def user_root() -> Path:
    """The folder a relative user path resolves against outside the runner (see the module's docstring)."""
    for key in ("EMBEDLAB_USER_ROOT", "JUPYTER_SERVER_ROOT"):
        if os.environ.get(key):
            return Path(os.environ[key]).expanduser()
    pwd = os.environ.get("PWD")
    if pwd and os.environ.get("JPY_PARENT_PID") and Path(pwd).is_dir():
        return Path(pwd)
    return Path.cwd()


def resolve(text: str | Path, base: Path | str | None = None) -> Path:
    """An absolute, normalised path: ``~`` expanded, a relative path joined to ``base`` (default :func:`user_root`)."""
    p = Path(text).expanduser()
    if not p.is_absolute():
        p = Path(base if base is not None else user_root()) / p
    return Path(os.path.normpath(p.absolute()))


def find(params: Mapping[str, Any], is_asset: Callable[[str], bool] | None = None,
         base: Path | str | None = None) -> list[UserPath]:
    """Every user path in a run's parameters, in parameter order (assets named instead of paths left out)."""
    out = []
    for name, value in params.items():
        for s in _strings(value):
            prefix = next((p for p in PREFIXES if s.startswith(p)), None)
            if prefix is None and not _is_path_param(name):
                continue
            text = s[len(prefix or ""):]
            if not text or (prefix != "file:" and is_asset is not None and is_asset(text)
                            and not resolve(text, base).exists()):
                continue
            out.append(UserPath(name, s, prefix or "", text))
    return out


def absolute(params: Mapping[str, Any], base: Path | str, is_asset: Callable[[str], bool] | None = None
             ) -> dict[str, Any]:
    """The parameters with every relative user path made absolute against ``base`` (prefixes kept)."""
    swap = {u.value: u.prefix + str(u.resolved(base)) for u in find(params, is_asset, base)}

    def walk(v: Any, path_param: bool) -> Any:
        if isinstance(v, str):
            return swap.get(v, v) if v.startswith(PREFIXES) or path_param else v
        if isinstance(v, Mapping):
            return {k: walk(x, path_param) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(walk(x, path_param) for x in v)
        return v

    return {k: walk(v, _is_path_param(k)) for k, v in params.items()}


_DIGESTS: dict[tuple, dict[str, str]] = {}


def _files(path: Path) -> list[Path]:
    """The files a user path stands for: itself, or every file below a folder (hidden ones aside), sorted."""
    if path.is_dir():
        return sorted(f for f in path.rglob("*") if f.is_file()
                      and not any(part.startswith(".") for part in f.relative_to(path).parts))
    return [path]


def digests(path: Path | str) -> dict[str, str]:
    """sha256 of a user file (``{file name: sha256}``) or of every file in a user folder (``{relative path: ..}``);
    :class:`UserFileMissing` when it does not exist. Cached by path, size and modification time."""
    path = Path(path)
    if not path.exists():
        raise UserFileMissing(f"no such file or folder: {path}")
    files = _files(path)
    key = (str(path), tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _DIGESTS:
        out = {}
        for f in files:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[f.name if f == path else f.relative_to(path).as_posix()] = h.hexdigest()
        _DIGESTS[key] = out
    return dict(_DIGESTS[key])


def short_hash(path: Path | str, n: int = 8) -> str:
    """The first ``n`` hex digits of one sha256 over a user file's or folder's contents."""
    joined = "\n".join(f"{k} {v}" for k, v in sorted(digests(path).items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:n]


def label(value: str, base: Path | str | None = None) -> str:
    """A short, file-name-safe label of a user file set: its file name (stem) and the short hash of its contents
    (``file:/x/verbs.txt`` -> ``file-verbs-1a2b3c4d``), so two files of one name never share a label."""
    prefix = next((p for p in PREFIXES if value.startswith(p)), "")
    path = resolve(value[len(prefix):], base)
    stem = (path.name if path.is_dir() else path.stem) or "file"
    try:
        tag = short_hash(path)
    except UserFileMissing:
        tag = "missing"
    return f"{prefix.rstrip(':') or 'file'}-{stem}-{tag}"


_USED: dict[str, dict[str, Any]] = {}


def check(params: Mapping[str, Any], is_asset: Callable[[str], bool] | None = None,
          base: Path | str | None = None) -> list[tuple[UserPath, Path]]:
    """Every user path of the parameters resolved and checked: :class:`UserFileMissing`, naming the parameter and
    the path, for the first that does not exist; the others are recorded for provenance (:func:`used`)."""
    out = []
    for u in find(params, is_asset, base):
        path = u.resolved(base)
        if not path.exists():
            raise UserFileMissing(f"parameter {u.param!r}: {u.value!r}: no such file or folder {path}")
        _USED[u.prefix + str(path)] = {"kind": "user file", "parameter": u.param, "source": str(path),
                                       "sha256": digests(path)}
        out.append((u, path))
    return out


def used() -> dict[str, dict[str, Any]]:
    """The user files checked in this process (for provenance): parameter, path and sha256 of each file."""
    return {k: {**v, "sha256": dict(v["sha256"])} for k, v in sorted(_USED.items())}


def clear() -> None:
    """Forget the recorded user files (a new run in the same process)."""
    _USED.clear()
