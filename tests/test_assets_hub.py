"""Hugging Face assets (issue 11, items 6 and 15): pinned revisions, the snapshot's commit in provenance, a rerun
that insists on a commit, and a tiny BERT loaded offline from a temporary hub cache through the registry code
the paper profile uses (``encoders.load_encoder(<asset name>)`` -> ``assets.fetch`` -> the hub cache)."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from embedlab import assets

SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
OTHER = "a" * 40
REPO = "embedlab-test/tiny-bert"


def _hub_cache(root: Path, checkpoint: Path) -> Path:
    """``checkpoint``'s files as the hub cache lays them out: models--org--name/snapshots/<commit>/, refs/main."""
    repo = root / ("models--" + REPO.replace("/", "--"))
    shutil.copytree(checkpoint, repo / "snapshots" / SHA)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SHA)
    return root


def _registry(path: Path) -> Path:
    path.write_text(yaml.safe_dump([{"name": "tiny-hub-bert", "kind": "huggingface", "description": "d", "license": "l",
                                     "citation": "c", "loader": "embedlab.encoders:load_encoder", "repo_id": REPO,
                                     "revision": "main"}]))
    return path


@pytest.fixture
def hub(tmp_path, monkeypatch, tiny_bert_dir):
    from huggingface_hub import constants

    cache = _hub_cache(tmp_path / "hub", tiny_bert_dir)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EMBEDLAB_REQUIRE_REVISION", raising=False)
    monkeypatch.setattr(assets, "_REGISTRY", assets.load_registry(_registry(tmp_path / "assets.yaml")))
    monkeypatch.setattr(assets, "_USED", {})
    return cache


def test_registry_revisions_are_commits_or_main():
    for a in assets.registry().values():
        if a.kind == "huggingface":
            assert a.revision == "main" or re.fullmatch(r"[0-9a-f]{40}", a.revision), a.name
    assert re.fullmatch(r"[0-9a-f]{40}", assets.get("multilingual-e5-small").revision)


def test_snapshot_commit_is_recorded(hub):
    path = assets.fetch("tiny-hub-bert")
    assert path.name == SHA and (path / "config.json").exists()
    used = assets.used_assets()["tiny-hub-bert"]
    assert used["commit"] == SHA and used["revision"] == "main"
    assert assets.verify("tiny-hub-bert") == f"ok (Hugging Face cache, commit {SHA})"


def test_a_rerun_can_insist_on_the_same_commit(hub, monkeypatch):
    assert assets.fetch("tiny-hub-bert", require_commit=SHA).name == SHA
    with pytest.raises(assets.AssetUnavailable, match=f"cache holds commit {SHA}, but commit {OTHER} is required"):
        assets.fetch("tiny-hub-bert", require_commit=OTHER)
    monkeypatch.setenv("EMBEDLAB_REQUIRE_REVISION", f"other=1, {REPO}={OTHER}")
    with pytest.raises(assets.AssetUnavailable, match=f"commit {OTHER} is required"):
        assets.fetch("tiny-hub-bert")
    monkeypatch.setenv("EMBEDLAB_REQUIRE_REVISION", f"tiny-hub-bert={SHA}")
    assert assets.fetch("tiny-hub-bert").name == SHA
    monkeypatch.setenv("EMBEDLAB_REQUIRE_REVISION", "tiny-hub-bert")
    with pytest.raises(assets.AssetError, match="not NAME=COMMIT"):
        assets.fetch("tiny-hub-bert")


_LOAD = """
import json, sys
from embedlab import assets, encoders
assets._REGISTRY = assets.load_registry(sys.argv[1])
enc = encoders.load_encoder("tiny-hub-bert")
emb = encoders.sentence_embeddings(enc, ["the cat is a pet", "a big red car"], progress=False)
print(json.dumps({"source": enc.source, "used": assets.used_assets()["tiny-hub-bert"], "shape": list(emb.shape)}))
"""


def test_tiny_bert_loads_offline_from_a_hub_cache_through_the_registry(tmp_path, tiny_bert_dir):
    cache = _hub_cache(tmp_path / "hub", tiny_bert_dir)
    script = tmp_path / "load.py"
    script.write_text(_LOAD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_CACHE": str(cache),
           "HF_HOME": str(tmp_path / "hf-home"), "EMBEDLAB_CACHE": str(tmp_path / "cache"), "EMBEDLAB_DEVICE": "cpu",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(assets.__file__).parents[2])}
    env.pop("EMBEDLAB_REQUIRE_REVISION", None)
    proc = subprocess.run([sys.executable, str(script), str(_registry(tmp_path / "assets.yaml"))], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["source"] == f"hf:{REPO}@{SHA}"
    assert out["used"]["commit"] == SHA
    assert out["shape"] == [3, 2, 32]  # input layer + 2 layers, 2 sentences, hidden 32
