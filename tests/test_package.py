"""The package namespace: ``fastlstm.tasks`` and ``fastlstm.experiments`` are reachable
as attributes, imported on first use so that ``import fastlstm`` stays light."""
import subprocess
import sys

import pytest

import fastlstm

HEAVY = ("fastlstm.tasks", "fastlstm.experiments", "matplotlib", "tqdm")


def test_import_is_light():
    """A fresh interpreter's ``import fastlstm`` imports none of HEAVY."""
    code = ("import sys, fastlstm; "
            f"print(' '.join(m for m in {HEAVY!r} "
            "if any(k == m or k.startswith(m + '.') for k in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


@pytest.mark.parametrize("name,attr", [("tasks", "AddingTask"), ("experiments", "ROWS")])
def test_submodules_are_attributes(name, attr):
    code = (f"import sys, fastlstm; m = fastlstm.{name}; "
            f"assert m is sys.modules['fastlstm.{name}']; m.{attr}; "
            f"assert '{name}' in dir(fastlstm)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        fastlstm.nope
    assert not hasattr(fastlstm, "nope")
