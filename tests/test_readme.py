"""The README's API tour runs as written."""
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md not beside tests/")
def test_api_tour_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "no python block in README.md"
    monkeypatch.chdir(tmp_path)                 # the tour saves net.npz
    exec(compile(blocks[0], "README.md", "exec"), {})
    assert (tmp_path / "net.npz").exists()
