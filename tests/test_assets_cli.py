"""`embedlab assets ...` (issue 11, item 14): no silent "everything", no silent mirror fallback, cache errors that
name EMBEDLAB_CACHE, verify's exit status. The fetches themselves are replaced by a recorder."""
import pytest

from embedlab import assets, cli


@pytest.fixture
def fetched(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    names = []
    monkeypatch.setattr(assets, "fetch", lambda n, progress=True, refresh=False: names.append(n) or tmp_path)
    return names


def test_fetch_without_names_is_an_error_listing_the_choices(fetched, capsys):
    assert cli.main(["assets", "fetch"]) == 2
    err = capsys.readouterr().err
    assert "--all" in err and "turkish-treebanks" in err and "bert-base-turkish-cased" in err
    assert fetched == []


def test_fetch_all_leaves_out_hub_models_unless_asked(fetched):
    reg = assets.registry()
    hub = {n for n, a in reg.items() if a.kind == "huggingface"}
    assert cli.main(["assets", "fetch", "--all"]) == 0
    assert set(fetched) == set(reg) - hub and hub
    fetched.clear()
    assert cli.main(["assets", "fetch", "--all", "--include-hub"]) == 0
    assert set(fetched) == set(reg)


def test_missing_mirror_directory_is_an_error_naming_it(fetched, tmp_path, capsys):
    missing = tmp_path / "no-mirror-here"
    assert cli.main(["--mirror", str(missing), "assets", "fetch", "stsb"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert fetched == []


def test_cache_errors_name_embedlab_cache(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("EMBEDLAB_CACHE", str(blocker))
    assert cli.main(["assets", "list"]) == 2
    err = capsys.readouterr().err
    assert f"EMBEDLAB_CACHE={blocker}" in err and "Traceback" not in err
    assert cli.main(["assets", "fetch", "turkish-treebanks"]) == 2
    assert "EMBEDLAB_CACHE" in capsys.readouterr().err


def test_verify_exits_nonzero_when_something_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "verify", lambda n: "missing: archive x" if n == "stsb" else "not cached")
    assert cli.main(["assets", "verify", "stsb"]) == 1
    assert "stsb: missing: archive x" in capsys.readouterr().out
    assert cli.main(["assets", "verify", "turkish-treebanks"]) == 0
