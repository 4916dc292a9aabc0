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


README = ROOT / "README.md"
PERFORMANCE = ROOT / "docs" / "performance.md"
#: a measured figure: a number followed by a unit or a ratio sign (16.3 us, 319x, 35.3 MB)
FIGURE = re.compile(r"\d[\d,.]*(?:-\d[\d,.]*)?(?:x| us| ns| ms| MB)")


def _section(text, title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"no section {title!r}"
    return m.group(1)


@pytest.mark.skipif(not (README.exists() and PERFORMANCE.exists()),
                    reason="README.md or docs/performance.md not beside tests/")
def test_readme_performance_figures_are_the_performance_page_s():
    readme = _section(README.read_text(), "Performance")
    page = _section(PERFORMANCE.read_text(), "In short")
    figures = FIGURE.findall(readme)
    assert len(figures) >= 10, "the README's performance table lost its figures"
    missing = [f for f in figures if f not in page]
    assert not missing, f"README figures not on docs/performance.md: {missing}"
