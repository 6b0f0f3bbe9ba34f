"""Packages used as data that are installed anyway (issue 20, item 7): gensim's evaluation sets are read from the
installed gensim (the same bytes, each member checked against the registry's sha256) instead of downloading a
second gensim wheel; another installed version falls back to the wheel, changed installed bytes are refused."""
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import pytest
import yaml

from embedlab import assets

MEMBERS = {"fakepkg/data/words.tsv": b"cat\tdog\t7.5\n", "fakepkg/data/readme.txt": b"fake\n"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A fresh cache; any download or PyPI lookup fails the test."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "_USED", {})

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args}")

    monkeypatch.setattr(assets, "_download", refuse)
    monkeypatch.setattr(assets, "_resolve_pypi", refuse)
    return refuse


def test_gensim_test_sets_come_from_the_installed_gensim(offline):
    a = assets.get("gensim-testdata")
    site = Path(importlib.metadata.distribution("gensim").locate_file(""))
    d = assets.fetch("gensim-testdata", progress=False)
    for member in a.members:
        assert (d / member).read_bytes() == (site / member).read_bytes()
        assert _sha((d / member).read_bytes()) == a.member_sha256[member]
    used = assets.used_assets()["gensim-testdata"]
    assert used["from"] == "installed gensim==4.4.0" and used["files"] == dict(sorted(a.member_sha256.items()))
    assert assets.is_cached("gensim-testdata") and assets.verify("gensim-testdata") == "ok"


@pytest.fixture
def fake_installed(tmp_path, monkeypatch, offline):
    """``fakepkg`` installed (a dist-info on sys.path) and registered with its members pinned one by one."""
    site = tmp_path / "site"

    def install(version="1.0", members=MEMBERS):
        for name, data in members.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_bytes(data)
        info = site / f"fakepkg-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakepkg\nVersion: {version}\n")
        return site

    wheel = tmp_path / "remote" / "fakepkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as z:
        for name, data in MEMBERS.items():
            z.writestr(name, data)
    entry = {"name": "fake", "kind": "pypi", "description": "d", "license": "l", "citation": "c", "loader": "x:y",
             "package": "fakepkg", "version": "1.0", "filename": wheel.name, "sha256": _sha(wheel.read_bytes()),
             "size": 1, "members": sorted(MEMBERS), "member_sha256": {k: _sha(v) for k, v in MEMBERS.items()}}
    (tmp_path / "assets.yaml").write_text(yaml.safe_dump([entry]))
    monkeypatch.setattr(assets, "_REGISTRY", assets.load_registry(tmp_path / "assets.yaml"))
    monkeypatch.syspath_prepend(str(site))
    return install, wheel


def test_installed_members_are_checked_and_changed_ones_refused(fake_installed):
    install, _ = fake_installed
    site = install()
    d = assets.fetch("fake", progress=False)
    assert (d / "fakepkg/data/words.tsv").read_bytes() == MEMBERS["fakepkg/data/words.tsv"]
    assert assets.verify("fake") == "ok"
    (site / "fakepkg/data/words.tsv").write_bytes(b"cat\tdog\t0.1\n")
    with pytest.raises(assets.ChecksumMismatch, match="(?s)installed fakepkg==1.0 has changed.*words.tsv.*Reinstall"):
        assets.fetch("fake", progress=False, refresh=True)
    assert not assets.is_cached("fake")


def test_another_installed_version_falls_back_to_the_checksummed_file(fake_installed, monkeypatch):
    install, wheel = fake_installed
    install(version="0.9", members={"fakepkg/data/words.tsv": b"old\n", "fakepkg/data/readme.txt": b"old\n"})
    calls = []

    def download(url, dest, progress, desc=None):
        calls.append(url)
        Path(dest).write_bytes(wheel.read_bytes())

    monkeypatch.setattr(assets, "_resolve_pypi", lambda a: "https://files.example/" + a.filename)
    monkeypatch.setattr(assets, "_download", download)
    d = assets.fetch("fake", progress=False)
    assert calls and (d / "fakepkg/data/words.tsv").read_bytes() == MEMBERS["fakepkg/data/words.tsv"]
    assert "from" not in assets.used_assets()["fake"]


def test_member_sha256_must_pin_exactly_the_members(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump([{"name": "x", "kind": "pypi", "description": "", "license": "", "citation": "",
                                  "loader": "", "members": ["a", "b"], "member_sha256": {"a": "0" * 64}}]))
    with pytest.raises(assets.AssetError, match="member_sha256 must pin exactly the members"):
        assets.load_registry(p)
