"""Commands that work as printed (issue 20, item 5): `embedlab assets fetch --refresh NAME`, as the README and every
corrupt-cache error say, in both orders; Hugging Face messages name `hf download`, the command the installed
huggingface_hub provides."""
import shutil
from pathlib import Path

import pytest

from embedlab import assets, cli


@pytest.fixture
def fetched(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(assets, "fetch", lambda n, progress=True, refresh=False: calls.append((n, refresh)) or tmp_path)
    return calls


@pytest.mark.parametrize("argv", [["fetch", "--refresh", "stsb"], ["fetch", "stsb", "--refresh"]],
                         ids=["option-first", "option-last"])
def test_fetch_refresh_name_works_in_both_orders(fetched, argv):
    assert cli.main(["assets", *argv]) == 0
    assert fetched == [("stsb", True)]


def test_fetch_refresh_of_several_names(fetched):
    assert cli.main(["assets", "fetch", "--refresh", "stsb", "sick"]) == 0
    assert fetched == [("stsb", True), ("sick", True)]


def test_the_printed_fix_command_parses_as_given(fetched):
    """The command every corrupt-cache error prints is exactly one the CLI accepts."""
    command = assets.integrity.fix_command(assets.get("stsb")).split()
    assert command[:2] == ["embedlab", "assets"]
    assert cli.main(command[1:]) == 0 and fetched == [("stsb", True)]


def test_hub_messages_name_hf_download(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(assets.AssetUnavailable) as err:
        assets.fetch("bert-base-turkish-cased")
    assert "`hf download dbmdz/bert-base-turkish-cased`" in str(err.value)
    assert "huggingface-cli" not in str(err.value)
    hf = Path(shutil.which("hf") or Path(__import__("sys").executable).with_name("hf"))
    assert hf.exists(), "huggingface_hub's `hf` command is not installed"
