"""The asset registry: metadata, the three sources, checksums, mirror, atomic writes and clear failures."""
import hashlib
import importlib
import os
import re
from pathlib import Path

import pytest
import yaml

from embedlab import assets

MIRROR = os.environ.get("EMBEDLAB_MIRROR")


@pytest.fixture
def tmp_registry(tmp_path, monkeypatch):
    """Point the registry at a YAML written by the test and the cache at a temp dir."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))

    def make(entries):
        path = tmp_path / "assets.yaml"
        path.write_text(yaml.safe_dump(entries))
        monkeypatch.setattr(assets, "_REGISTRY", assets.load_registry(path))
        return path

    yield make


def _cached_files(root):
    """Files in a cache, less the (empty) per-asset lock files."""
    return [p for p in Path(root).rglob("*") if p.is_file() and "locks" not in p.relative_to(root).parts]


def _url_entry(url, sha, name="tiny"):
    return [{"name": name, "kind": "url", "description": "d", "license": "l", "citation": "c", "loader": "x:y",
             "files": [{"url": url, "sha256": sha, "size": 1}]}]


def test_registry_entries_are_complete():
    reg = assets.registry()
    assert len(reg) >= 30
    for a in reg.values():
        assert a.description and a.license and a.citation and a.loader, a.name
        if a.kind == "pypi":
            assert re.fullmatch(r"[0-9a-f]{64}", a.sha256) and a.filename and a.version and a.members and a.size, a.name
        elif a.kind == "url":
            assert a.files and (a.size or all("git_blob_sha1" in f for f in a.files)), a.name
            for f in a.files:
                pin = f.get("sha256") or f.get("git_blob_sha1", "")
                assert re.fullmatch(r"[0-9a-f]{64}" if "sha256" in f else r"[0-9a-f]{40}", pin), a.name
                assert f["url"].startswith("https://"), a.name
                if "git_blob_sha1" in f:  # a blob id pins bytes only where the host serves that blob verbatim
                    assert f["url"].startswith("https://raw.githubusercontent.com/"), a.name
                pinned = re.search(r"/[0-9a-f]{40}/", f["url"]) or re.fullmatch(  # a commit, or an npm release tarball
                    r"https://registry\.npmjs\.org/[^/]+/-/[^/]+-\d+\.\d+\.\d+\.tgz", f["url"])
                assert pinned, f"{a.name}: URL not pinned to a commit or release: {f['url']}"
        else:
            assert a.repo_id and a.revision, a.name


def test_every_loader_names_an_existing_function():
    for a in assets.registry().values():
        module, func = a.loader.split(":")
        assert callable(getattr(importlib.import_module(module), func)), f"{a.name}: loader {a.loader} not found"


def test_unknown_asset_lists_known_ones():
    with pytest.raises(assets.UnknownAsset, match="unknown asset 'nope'.*turkish-treebanks"):
        assets.get("nope")


def test_registry_rejects_unknown_fields(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump([{"name": "x", "kind": "url", "description": "", "license": "", "citation": "",
                                  "loader": "", "sha265": "typo"}]))
    with pytest.raises(assets.AssetError, match="unknown field.*sha265"):
        assets.load_registry(p)


def test_mirror_path_decodes_raw_github_urls(tmp_path):
    url = "https://raw.githubusercontent.com/l3cube-pune/MarathiNLP/8ee2/L3CubeMahaSent%20Dataset/tweets-test.csv"
    assert assets.mirror_path(url, tmp_path) == tmp_path / "github/l3cube-pune/MarathiNLP/8ee2/L3CubeMahaSent Dataset/tweets-test.csv"
    assert assets.mirror_path("https://example.org/x.txt", tmp_path) is None


def _mirror_with_file(tmp_path, content=b"hello embedlab\n"):
    url = "https://raw.githubusercontent.com/o/r/0123456789abcdef0123456789abcdef01234567/dir%20x/f.txt"
    local = tmp_path / "mirror/github/o/r/0123456789abcdef0123456789abcdef01234567/dir x/f.txt"
    local.parent.mkdir(parents=True)
    local.write_bytes(content)
    return url, hashlib.sha256(content).hexdigest()


def test_url_asset_from_mirror_is_verified(tmp_path, tmp_registry):
    url, sha = _mirror_with_file(tmp_path)
    tmp_registry(_url_entry(url, sha))
    assets.set_mirror(tmp_path / "mirror")
    try:
        d = assets.fetch("tiny", progress=False)
    finally:
        assets.set_mirror(None)
    assert (d / "f.txt").read_bytes() == b"hello embedlab\n"
    assert assets.is_cached("tiny") and assets.verify("tiny") == "ok"
    assert assets.used_assets()["tiny"]["sha256"] == {"f.txt": sha}


@pytest.mark.parametrize("pin", ["sha256", "git_blob_sha1"])
def test_checksum_mismatch_reports_expected_and_actual_and_caches_nothing(tmp_path, tmp_registry, pin):
    url, sha = _mirror_with_file(tmp_path)
    if pin == "sha256":
        tmp_registry(_url_entry(url, "0" * 64))
        expected = f"expected sha256 {'0' * 64}, got {sha}"
    else:
        tmp_registry(_blob_entry(url, "f" * 40))
        expected = f"expected git blob id {'f' * 40}, got [0-9a-f]{{40}}"
    assets.set_mirror(tmp_path / "mirror")
    try:
        with pytest.raises(assets.ChecksumMismatch, match=expected):
            assets.fetch("tiny", progress=False)
    finally:
        assets.set_mirror(None)
    assert not assets.is_cached("tiny")
    assert not _cached_files(tmp_path / "cache")


def test_offline_without_cache_is_a_clear_error(tmp_path, tmp_registry, monkeypatch):
    monkeypatch.delenv("EMBEDLAB_MIRROR", raising=False)
    tmp_registry(_url_entry("http://127.0.0.1:9/nothing/here.txt", "0" * 64))
    with pytest.raises(assets.AssetUnavailable, match="(?s)could not download http://127.0.0.1:9/nothing/here.txt.*EMBEDLAB_MIRROR"):
        assets.fetch("tiny", progress=False)
    assert not _cached_files(tmp_path / "cache")


def test_killed_download_leaves_no_cache_entry(tmp_path, tmp_registry, monkeypatch):
    monkeypatch.delenv("EMBEDLAB_MIRROR", raising=False)
    tmp_registry(_url_entry("https://raw.githubusercontent.com/o/r/" + "a" * 40 + "/big.bin", "0" * 64))

    def killed(url, dest, progress):
        Path(dest).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(assets, "_download", killed)
    with pytest.raises(KeyboardInterrupt):
        assets.fetch("tiny", progress=False)
    assert not _cached_files(tmp_path / "cache")


def test_pypi_archive_checksum_mismatch(tmp_path, tmp_registry):
    real = assets.get("turkish-treebanks")
    assets.fetch("turkish-treebanks", progress=False)  # make sure the real archive is in the default cache
    entry = {"name": "tb", "kind": "pypi", "description": "d", "license": "l", "citation": "c", "loader": "x:y",
             "package": real.package, "version": real.version, "filename": real.filename, "sha256": "f" * 64,
             "size": 1, "members": ["data/web.conllu"]}
    tmp_registry([entry])
    archive = assets._pypi_archive(assets.get("tb"))
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"not the real wheel")
    with pytest.raises(assets.ChecksumMismatch, match="expected sha256 f{64}, got"):
        assets.fetch("tb", progress=False)


def test_huggingface_asset_offline_names_the_asset(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(assets.AssetUnavailable, match="'bert-base-turkish-cased' \\(dbmdz/bert-base-turkish-cased@main\\)"):
        assets.fetch("bert-base-turkish-cased")


@pytest.mark.parametrize("name", [n for n, a in assets.registry().items() if a.kind == "pypi"])
def test_every_pypi_asset_fetches_with_only_its_members(name):
    a = assets.get(name)
    d = assets.fetch(name, progress=False)
    files = [p for p in d.rglob("*") if p.is_file() and p.name != assets.MANIFEST]
    assert files, name
    for p in files:
        rel = p.relative_to(d).as_posix()
        assert any(re.fullmatch(pat.replace(".", r"\.").replace("*", "[^/]*"), rel) for pat in a.members), rel
    assert not any(p.suffix == ".so" for p in files)
    assert assets.verify(name).startswith("ok")


# URL assets that are not in the offline mirror by design (internet once, e.g. the paper profile): the Turkish
# paper's evaluation sets (../shared/turkish-paper-sets.tsv; added by the evaluation helper)
NOT_MIRRORED = tuple(f"tr-paper-{g}" for g in ("verb", "noun", "derivational", "mixed", "semantic", "analogy-sample")) \
    + ("tr-wordsimtr", "tr-anlamver") \
    + ("oxford-defs-train",)  # ../shared/mirror/MANIFEST.tsv: "# missing: ...oxford/train.txt" (over the snapshot limit)


@pytest.mark.skipif(not MIRROR, reason="EMBEDLAB_MIRROR not set (CI and developers have ../shared/mirror)")
@pytest.mark.parametrize("name", [n for n, a in assets.registry().items() if a.kind == "url" and n not in NOT_MIRRORED])
def test_mirror_resolves_every_url_asset(name):
    d = assets.fetch(name, progress=False)
    for f in assets.get(name).files:
        assert (d / assets._url_basename(f["url"])).exists()


def _blob_entry(url, blob, name="tiny"):
    return [{"name": name, "kind": "url", "description": "d", "license": "l", "citation": "c", "loader": "x:y",
             "files": [{"url": url, "git_blob_sha1": blob, "size": 1}]}]


def test_git_blob_sha1_is_gits_object_id(tmp_path):
    import shutil
    import subprocess

    f = tmp_path / "f.txt"
    f.write_bytes(b"word\texample\ta definition\n" * 1000)
    # git hash-object's known id for an empty blob, then the tool itself where it is installed
    (tmp_path / "empty").write_bytes(b"")
    assert assets.git_blob_sha1(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    if shutil.which("git"):
        expected = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True).stdout.strip()
        assert assets.git_blob_sha1(f) == expected


def test_url_file_pinned_by_git_blob_id_is_verified_and_its_sha256_recorded(tmp_path, tmp_registry):
    content = b"hello embedlab\n"
    url, sha = _mirror_with_file(tmp_path, content)
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    tmp_registry(_blob_entry(url, blob))
    assets.set_mirror(tmp_path / "mirror")
    try:
        d = assets.fetch("tiny", progress=False)
        assert (d / "f.txt").read_bytes() == content
        assert assets.verify("tiny") == "ok"
        assert assets.used_assets()["tiny"]["sha256"] == {"f.txt": f"git-blob-sha1:{blob}"}
        assert assets.used_assets()["tiny"]["files"] == {"f.txt": sha}  # the bytes actually read, by sha256
        assets.fetch("tiny", progress=False)  # cached: no second download, same record
        (d / "f.txt").write_bytes(b"tampered\n")
        with pytest.raises(assets.CorruptCache, match="f.txt"):
            assets.verify("tiny")
    finally:
        assets.set_mirror(None)


@pytest.mark.parametrize("pins", [{}, {"sha256": "0" * 64, "git_blob_sha1": "0" * 40}])
def test_registry_needs_exactly_one_pin_per_url_file(tmp_path, pins):
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump([{"name": "x", "kind": "url", "description": "", "license": "", "citation": "",
                                  "loader": "", "files": [{"url": "https://example.org/f", **pins}]}]))
    with pytest.raises(assets.AssetError, match="exactly one of sha256 or git_blob_sha1"):
        assets.load_registry(p)
