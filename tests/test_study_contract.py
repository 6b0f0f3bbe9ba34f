"""The study contract: validated Configs that match their notebooks, Results whose flags catch degenerate runs."""
import ast
import importlib
import json
import math

import nbformat
import numpy as np
import pytest

from embedlab import flags, paths, report, stats
from embedlab.study import (Choice, Config, ConfigError, Float, Int, ListOf, Optional, Reference, Results, Str,
                            param)
import dataclasses

# (notebook, "module:Config") for the four studies
STUDIES = [
    ("static_vs_contextual.ipynb", "embedlab.static_vs_contextual.config:Config"),
    ("cade_alignment.ipynb", "embedlab.cade.config:Config"),
    ("matryoshka_2d.ipynb", "embedlab.matryoshka.config:Config"),
    ("definition_projection.ipynb", "embedlab.defsent.config:Config"),
    ("assets.ipynb", "embedlab.data_card:Config"),
]


def parameters_cell(notebook: str) -> dict:
    """The literal assignments of a notebook's ``parameters`` cell."""
    nb = nbformat.read(paths.NOTEBOOKS / notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{notebook}: expected one cell tagged 'parameters', found {len(cells)}"
    out = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, \
            f"{notebook}: the parameters cell holds only `name = literal` lines"
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def load_config(spec: str):
    mod, cls = spec.split(":")
    return getattr(importlib.import_module(mod), cls)


@pytest.mark.parametrize("notebook,spec", STUDIES, ids=[s[0] for s in STUDIES])
def test_parameters_cell_is_the_config(notebook, spec):
    cfg_cls = load_config(spec)
    cell = parameters_cell(notebook)
    defaults = cfg_cls.defaults()
    assert list(cell) == list(defaults), "the parameters cell must list exactly the Config's fields, in order"
    for k, v in cell.items():
        assert v == defaults[k], f"{notebook}: {k} = {v!r} in the notebook, {defaults[k]!r} in the Config"
    cfg = cfg_cls.from_parameters(cell)  # the defaults themselves validate
    assert cfg.params == defaults


@pytest.mark.parametrize("notebook,spec", STUDIES, ids=[s[0] for s in STUDIES])
def test_every_plan_run_validates(notebook, spec):
    import yaml

    cfg_cls = load_config(spec)
    for plan in sorted(paths.PLANS.glob("*.yaml")):
        for run in yaml.safe_load(plan.read_text())["runs"]:
            if run["notebook"].endswith(notebook):
                cfg_cls.build(**run.get("parameters", {}))  # raises ConfigError on a bad value


@dataclasses.dataclass
class Toy(Config):
    study = "toy"
    sizes: list = param([1, 2], ListOf(Int(min=1)), "sizes")
    rate: float = param(0.1, Float(min=0, max=1))
    mode: str = param("a", Choice("a", "b"))
    limit: object = param(None, Optional(Int(min=1)))
    name: str = param("x", Str())


@pytest.mark.parametrize("given,needle", [
    (dict(sizes=[-5]), "sizes"), (dict(sizes=[]), "at least 1"), (dict(rate=2.0), "from 0 to 1"),
    (dict(mode="c"), "one of 'a', 'b'"), (dict(limit=0), "None or an integer >= 1"), (dict(sizes=[1, "2"]), "'2'"),
])
def test_config_errors_name_parameter_given_and_allowed(given, needle):
    with pytest.raises(ConfigError) as e:
        Toy.build(**given)
    msg = str(e.value)
    assert f"parameter {next(iter(given))!r}" in msg and "allowed:" in msg and needle in msg


def test_unknown_parameter_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'rate'"):
        Toy.build(rtae=0.2)


def test_flat_loss_at_ln_n_is_flagged():
    r = Results("toy")
    losses = [math.log(478) + 1e-4 * np.sin(i) for i in range(40)]
    assert r.check_loss("defsent+/mean", losses, n_classes=478)
    assert r.status == "partial" and "uniform" in r.flags[0].message
    assert flags.not_learning(np.linspace(6.0, 2.0, 50)) is None
    assert flags.not_learning(np.linspace(6.0, 2.0, 50), n_classes=100) is None  # ln 100 = 4.6
    assert "worse than a uniform" in flags.not_learning(np.linspace(355, 154, 50), n_classes=2368)


def test_all_majority_predictions_are_flagged():
    gold = np.array([0] * 80 + [1] * 20)
    pred = np.zeros_like(gold)  # a tagger that always says the majority tag
    correct = (pred == gold).astype(float)
    r = Results("toy")
    h = r.headline("pos/acc", "POS accuracy", correct.mean(), stats.mean_ci(correct), n=len(gold),
                   reference=Reference("majority", 0.8))
    assert any("at majority" in m for m in h.flags)
    assert "Flagged" in r.findings()[0]


def test_a_clear_win_is_not_flagged_and_reads_as_higher():
    rng = np.random.default_rng(0)
    a, b = rng.random(500) < 0.8, rng.random(500) < 0.5
    r = Results("toy")
    h = r.compare("acc/a-b", "a - b", "model A", "model B", a.mean() - b.mean(),
                  stats.paired_mean_diff_ci(a, b), n=500, metric="accuracy")
    assert h.flags == [] and r.status == "ok"
    assert r.findings()[0].startswith("model A is higher than model B in accuracy by")


def test_trained_below_base_is_flagged_and_noise_is_said():
    r = Results("toy")
    r.compare("sts/trained-base", "trained - base", "trained", "base", -0.02, (-0.03, -0.01), n=200, b_is_base=True)
    r.compare("sts/other", "x - y", "x", "y", 0.01, (-0.01, 0.03), n=200)
    assert any("below base" in f.message for f in r.flags)
    assert "do not differ" in r.findings()[1]


def test_ceiling_and_coverage_flags():
    assert flags.at_ceiling(0.985) and flags.at_ceiling(0.5) is None
    assert flags.low_coverage(0.02) and flags.low_coverage(0.5) is None


def test_bootstrap_intervals_cover_the_estimate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    lo, hi = stats.spearman_ci(x, y)
    assert lo < stats.spearman(x, y) < hi and hi - lo < 0.3
    labels = rng.random(200) < 0.3
    lo, hi = stats.ap_ci(labels, labels + rng.normal(scale=0.5, size=200))
    assert 0.3 < lo < hi <= 1


def test_record_and_show_write_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path))
    r = Results("toy")
    r.check_loss("x", [2.0] * 10)
    r.mark_unavailable("stsb", "sts", "not cached and offline")
    r.headline("acc", "accuracy", 0.5, (0.4, 0.6), n=100, reference=Reference("chance", 0.5))
    report.record(r, Toy())
    doc = json.loads(report.metrics_path().read_text())
    assert doc["status"] == "partial" and doc["parameters"]["sizes"] == [1, 2]
    assert doc["headlines"][0]["flags"] and doc["unavailable"][0]["name"] == "stsb"
    assert doc["provenance"]["machine"]["cpus"]
    html = report.status_box(r) + report.headlines_table(r)
    assert "not learning" in html and "stsb" in html and "at chance" in html


def test_results_round_trip_through_metrics_json(tmp_path, monkeypatch):
    """metrics.json is Results.to_dict() (+ parameters, provenance) and Results.from_dict reads it back."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from embedlab.study import SCHEMA_VERSION

    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(report, "_KEY_FIGURE", [])
    r = Results("toy", metrics={"acc": 0.5}, published_note="61.0 (Table 2)", notes=["we differ"])
    r.check_loss("train/x", [2.0] * 10)
    r.mark_unavailable("stsb", "sts", "offline")
    r.headline("acc", "accuracy", 0.5, (0.4, 0.6), n=10, reference=Reference("chance", 0.5),
               extra_flags=[flags.low_coverage(0.1)])
    r.compare("d", "a - b", "a", "b", -0.1, (-0.2, -0.05), n=100, b_is_base=True)
    report.savefig(plt.subplots()[0], "first", show=False, key=True)
    report.savefig(plt.subplots()[0], "second", show=False, key=True)  # a later key figure replaces it
    report.savefig(plt.subplots()[0], "other", show=False)
    report.record(r, Toy())
    doc = json.loads(report.metrics_path().read_text())
    assert doc["schema_version"] == SCHEMA_VERSION and doc["key_figure"] == "figures/second.png"
    # flags keep their messages on headlines and the kinds the message text used to be parsed into
    assert doc["headlines"][0]["flags"] == ["tiny n (10 items)", "at chance (0.5 vs chance 0.5)",
                                            "low coverage (10.0% of items scored)"]
    assert all(isinstance(m, str) for h in doc["headlines"] for m in h["flags"])
    assert [(f["kind"], f["key"]) for f in doc["flags"]] == [
        ("not learning", "train/x"), ("tiny n", "acc"), ("at chance", "acc"), ("low coverage", "acc"),
        ("below base", "d")]
    assert all(f["kind"] == f["message"].split(" (")[0].split(":")[0] for f in doc["flags"][1:])
    back = Results.from_dict(doc)
    assert back.to_dict() == {k: doc[k] for k in back.to_dict()}
    assert back.status == r.status == doc["status"] == "partial"
    assert back.partial_reasons() == r.partial_reasons() == [
        "unavailable: stsb", "2 flagged headline(s): accuracy, a - b", "1 flag(s): not learning (train/x)"]
    older = {k: v for k, v in doc.items() if k != "schema_version"}  # written before the schema had a version
    assert Results.from_dict(older).to_dict() == back.to_dict()
    with pytest.raises(ValueError, match="schema_version"):
        Results.from_dict({**doc, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(ValueError):
        Results.from_dict({"headlines": [{"label": "no key or value"}]})


def test_flags_are_kind_and_message():
    f = flags.at_ceiling(0.985)
    assert (f.kind, f.message, str(f)) == ("at ceiling", "at ceiling (0.985 of 1)", "at ceiling (0.985 of 1)")
    assert flags.at_reference(0.5, 0.5, None, "majority").kind == "at majority"
    assert flags.not_learning([1.0]).kind == "not learning" and flags.tiny_n(3).kind == "tiny n"
    assert flags.below_reference(0.1, 0.2).kind == "below base encoder"
