"""No cache format that can carry code (issue 11, item 5): no pickle in the library; the WordNet definitions
cache is an SQLite table that round-trips every string exactly."""
import re
from pathlib import Path

import pandas as pd
import pytest

from embedlab import assets
from embedlab.evalsets import dictionaries

LIB = Path(__file__).resolve().parents[1] / "lib"
CODE_CARRIERS = re.compile(r"\bimport pickle\b|\bfrom pickle\b|\bpickle\.|\bcloudpickle\b|\bdill\b|joblib\.load"
                           r"|allow_pickle\s*=\s*True|weights_only\s*=\s*False")


def test_no_pickle_in_the_library():
    hits = [f"{p.relative_to(LIB)}:{i}: {line.strip()}" for p in sorted(LIB.rglob("*.py"))
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if CODE_CARRIERS.search(line)]
    assert not hits, "formats that can carry code:\n" + "\n".join(hits)


TRICKY = pd.DataFrame({"headword": ["null", "NaN", "true", "ığüş kök", "1e5", "(x)"],
                       "pos": ["noun", "", "adj", "verb", "noun", "adv"],
                       "definition": ["a 'quoted' \"word\"", "None", "0", "tab\there", "line\nbreak", "ünlü"],
                       "source": ["kenet"] * 6, "synset_id": ["TUR10-0001", "00001", "", "x", "007", "-1"]})


def test_table_cache_roundtrips_strings_exactly(tmp_path):
    path = tmp_path / "t.sqlite"
    dictionaries._save_table(TRICKY, path)
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    pd.testing.assert_frame_equal(dictionaries._load_table(path), TRICKY)


def test_wordnet_definitions_are_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "fetch", lambda name, progress=True: tmp_path)
    calls = []

    def parse(path):
        calls.append(path)
        return TRICKY.drop(columns="source")

    monkeypatch.setattr(dictionaries, "_parse_wordnet", parse)
    first = dictionaries.wordnet_definitions("tr").entries
    cached = [p for p in (tmp_path / "cache" / "parsed").iterdir() if not p.name.endswith(".manifest.json")]
    assert [p.suffix for p in cached] == [".sqlite"]
    second = dictionaries.wordnet_definitions("tr").entries
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    cached[0].write_bytes(b"\x80\x04garbage, e.g. a pickle")  # a corrupt or foreign file is rebuilt, never executed
    with pytest.warns(UserWarning, match="changed after it was made"):
        pd.testing.assert_frame_equal(dictionaries.wordnet_definitions("tr").entries, first)
    assert len(calls) == 2
