"""The code examples of the user guide run as written, in order, in one namespace.

Every fenced ``python`` block of ``docs/guide.md`` is executed, so that the guide cannot
drift from the code.  (The README's first block is run by ``tests/test_readme.py``.)
"""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"


def python_blocks(path):
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), re.S | re.M)


@pytest.mark.skipif(not GUIDE.exists(), reason="docs/guide.md not beside tests/")
def test_guide_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks(GUIDE)
    assert len(blocks) >= 10, "the guide lost its examples"
    monkeypatch.chdir(tmp_path)                 # the guide saves files
    namespace = {"__name__": "guide"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{GUIDE.name}, python block {i + 1}", "exec"), namespace)
    assert (tmp_path / "adding.npz").exists()
