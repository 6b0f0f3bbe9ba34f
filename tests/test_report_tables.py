"""Exported tables: every saved CSV keeps its row labels, and every table a report shows is saved as LaTeX
(booktabs) beside it (issue 20, section 6)."""

import numpy as np
import pandas as pd
import pytest

from embedlab import report
from embedlab.study import Reference, Results


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run" / "tables"


def test_a_results_table_keeps_the_embedding_names(run):
    """As static_vs_contextual's results and analogies tables: one row per embedding, named by an unnamed index."""
    df = pd.DataFrame({"analogy treebank 3cosadd acc": [0.12, 0.3], "tagging pos-tr acc h=4": [0.8, np.nan]},
                      index=["w2v_cbow", "e5-small/aggregate-cls"])
    report.show_table(df, "results", caption="every embedding & task", reference="chance 0.5%")
    back = pd.read_csv(run / "results.csv", index_col=0)
    assert list(back.index) == ["w2v_cbow", "e5-small/aggregate-cls"]
    pd.testing.assert_frame_equal(back, df)
    tex = (run / "results.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in tex
    assert r"w2v\_cbow & 0.12 & 0.8 \\" in tex and "e5-small/aggregate-cls & 0.3 & -- \\\\" in tex
    assert r"\caption{results. every embedding \& task Reference: chance 0.5\%}" in tex


def test_named_and_multi_indexes_are_kept_a_default_one_is_not(run):
    report.save_table(pd.DataFrame({"x": [1, 2]}), "plain")
    assert (run / "plain.csv").read_text() == "x\n1\n2\n"
    assert " & x" not in (run / "plain.tex").read_text()
    named = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["a", "b"], name="set"))
    report.save_table(named, "named")
    assert (run / "named.csv").read_text().splitlines()[0] == "set,x"
    # as the analogies_<set> tables: set_index(["embedding", "method"]) (a MultiIndex has no .name, only .names)
    multi = pd.DataFrame({"acc": [0.1, 0.2]}, index=pd.MultiIndex.from_tuples([("w2v-sg", "trained"),
                                                                            ("e5-small", "x2static")],
                                                                           names=["embedding", "method"]))
    report.save_table(multi, "analogies_treebank")
    assert (run / "analogies_treebank.csv").read_text().splitlines() == ["embedding,method,acc", "w2v-sg,trained,0.1",
                                                                        "e5-small,x2static,0.2"]
    report.save_table(pd.DataFrame({"x": [1]}, index=pd.RangeIndex(3, 4)), "offset")  # a slice: labels kept
    assert pd.read_csv(run / "offset.csv", index_col=0).index.tolist() == [3]


def test_show_saves_the_headlines_and_published_numbers_as_tables(run, capsys):
    r = Results("toy")
    r.headline("sts/a/spearman", "A's Spearman", 0.61, ci=(0.55, 0.67), n=100, reference=Reference("chance", 0.0))
    r.compare("sts/a-b/diff", "A minus B", "A", "B", 0.05, ci=(-0.01, 0.11), n=100)
    r.published = pd.DataFrame({"paper": ["X 2021"], "value": [0.7]})
    report.show(r)
    h = pd.read_csv(run / "headlines.csv", index_col=0)
    assert h.loc["sts/a/spearman", "value"] == 0.61 and h.loc["sts/a-b/diff", "ci_low"] == -0.01
    assert r"\toprule" in (run / "headlines.tex").read_text()
    assert pd.read_csv(run / "published.csv")["paper"].tolist() == ["X 2021"]
    assert (run / "published.tex").exists()
