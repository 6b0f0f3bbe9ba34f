"""Issue 20, section 1 in the library: a researcher's own files (``file:`` sets of every kind, ``slices:`` folders,
CADE's ``user_paths``) are resolved where the user means, checked, hashed into provenance and labelled apart."""
import dataclasses
import json

import pytest

from embedlab import report, userfiles
from embedlab import evalsets as E
from embedlab.study import Config, Int, ListOf, Str, param

CONLLU = """# sent_id = s{i}
# text = the cat runs
1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tcat\tcat\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\truns\trun\tVERB\t_\t_\t0\troot\t_\t_

"""


@dataclasses.dataclass
class Toy(Config):
    study = "toy"
    sets: list = param([], ListOf(Str(), min_len=0), "evaluation sets (file:<path>)")
    user_paths: list = param([], ListOf(Str(), min_len=0), "folders of slices")
    seed: int = param(0, Int(min=0))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "q.txt").write_text("gel geldi git gitti\n")
    (tmp_path / "b" / "q.txt").write_text("git gitti gel geldi\n")
    (tmp_path / "pairs.tsv").write_text("s1\ts2\tscore\nA cat sat.\tA cat was sitting.\t4.5\n"
                                        "A dog ran.\tThe sky is blue.\t0.2\nHe left.\tHe went away.\t3.9\n")
    (tmp_path / "tags.conllu").write_text("".join(CONLLU.format(i=i) for i in range(30)))
    (tmp_path / "defs.tsv").write_text("headword\tdefinition\ncat\ta small domesticated feline\n"
                                       "dog\ta domesticated canine\n# a comment\nsun\tthe star at the centre\n")
    return tmp_path


def test_two_file_sets_of_one_file_name_get_distinct_labels(files):
    from embedlab.static_vs_contextual import set_label

    a, b = f"file:{files / 'a' / 'q.txt'}", f"file:{files / 'b' / 'q.txt'}"
    assert set_label(a) != set_label(b)
    assert set_label(a).startswith("file-q-") and len(set_label(a)) == len("file-q-") + 8
    assert set_label(a) == userfiles.label(a), "the label is the file name and a short hash of its contents"


def test_file_sets_for_sts_tagging_and_definitions(files):
    sts = E.load_evalset("sts", f"file:{files / 'pairs.tsv'}", language="en")
    assert len(sts) == 3 and sts.pairs.s1[0] == "A cat sat." and sts.scale == (0.2, 4.5)
    tags = E.load_evalset("tagging", f"file:{files / 'tags.conllu'}", language="en")
    assert sum(tags.sizes().values()) == 30 and tags.train[0] == (["the", "cat", "runs"], ["DET", "NOUN", "VERB"])
    defs = E.load_evalset("dictionary", f"file:{files / 'defs.tsv'}")
    assert list(defs.entries.headword) == ["cat", "dog", "sun"]
    assert {("sts", "file"), ("tagging", "file"), ("dictionary", "file")} <= set(E.REGISTRY)


def test_a_conllu_folder_keeps_its_own_split(files):
    folder = files / "tb"
    folder.mkdir()
    for split, n in (("train", 5), ("dev", 2), ("test", 3)):
        (folder / f"xx-ud-{split}.conllu").write_text("".join(CONLLU.format(i=f"{split}{i}") for i in range(n)))
    assert E.load_evalset("tagging", f"file:{folder}").sizes() == {"train": 5, "dev": 2, "test": 3}


def test_a_missing_user_file_fails_and_is_never_unavailable(files):
    missing = files / "nope.txt"
    for kind in ("analogy", "similarity", "sts", "tagging", "dictionary"):
        with pytest.raises(userfiles.UserFileMissing, match=str(missing)):
            E.try_load(kind, f"file:{missing}")


def test_begin_resolves_checks_prints_and_records_user_files(files, monkeypatch, capsys):
    """Outside the runner a relative path resolves against the folder JupyterLab was started from ($PWD in its
    kernels; their own working directory is the notebook's folder), is printed, and lands in provenance."""
    notebooks = files / "notebooks"
    notebooks.mkdir()
    (notebooks / "a").mkdir()
    (notebooks / "a" / "q.txt").write_text("a decoy beside the notebook\n")
    monkeypatch.chdir(notebooks)
    for k in ("EMBEDLAB_USER_ROOT", "JUPYTER_SERVER_ROOT", "EMBEDLAB_RUN_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    monkeypatch.setenv("PWD", str(files))
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(files / "run"))
    cfg = report.begin(Toy(sets=["file:a/q.txt"], user_paths=["b"]))
    assert cfg.sets == [f"file:{files / 'a' / 'q.txt'}"] and cfg.user_paths == [str(files / "b")]
    out = capsys.readouterr().out
    assert f"sets = 'file:a/q.txt' -> {files / 'a' / 'q.txt'}" in out
    prov = report.provenance(cfg.params)
    entry = prov["user_files"][f"file:{files / 'a' / 'q.txt'}"]
    assert entry["parameter"] == "sets" and entry["sha256"] == userfiles.digests(files / "a" / "q.txt")
    assert prov["user_files"][str(files / "b")]["sha256"] == {"q.txt": userfiles.digests(files / "b" / "q.txt")["q.txt"]}
    box = report.provenance_block(cfg)
    assert "Assets and user files used" in box and str(files / "a" / "q.txt") in box
    report.record({"x": 1.0}, cfg)
    assert json.loads((files / "run" / "metrics.json").read_text())["provenance"]["user_files"] == prov["user_files"]


def test_begin_fails_on_a_missing_user_path_naming_parameter_and_path(files, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_USER_ROOT", str(files))
    with pytest.raises(userfiles.UserFileMissing) as e:
        report.begin(Toy(user_paths=["no-such-folder"]))
    assert str(e.value) == f"parameter 'user_paths': 'no-such-folder': no such file or folder {files / 'no-such-folder'}"


def test_the_studies_accept_file_sets_of_every_kind(files):
    from embedlab import defsent, matryoshka, static_vs_contextual as svc
    from embedlab.matryoshka.data import evaluation_tasks

    cfg = svc.Config.build(language="tr", corpora=["tr-treebank"], encoders=["minilm"], methods=["decontext-cls"],
                           tagging_tasks=[f"file:{files / 'tags.conllu'}"], analogy_sets=[], classification_sets=[])
    sets = svc.data.evaluation_sets(cfg)
    label = svc.set_label(f"file:{files / 'tags.conllu'}")
    assert list(sets["tagging"]) == [label] and sets["tagging"][label].name == label
    matryoshka.Config(sts_sets=[f"file:{files / 'pairs.tsv'}"], headline_task="file-pairs")
    task = evaluation_tasks(sts=[f"file:{files / 'pairs.tsv'}"], words=[], bible=None)[0]
    assert task.name == userfiles.label(f"file:{files / 'pairs.tsv'}") and len(task) == 3
    dcfg = defsent.Config(language="tr", dictionary=f"file:{files / 'defs.tsv'}")
    entries = defsent.load_dictionary(dcfg.dictionary, dcfg.language)
    assert list(entries.headword) == ["cat", "dog", "sun"]
