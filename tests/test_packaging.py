"""The installed package: one version everywhere, the C header and the .pxd shipped with
it, and a Cython module of a user's that ``cimport``s the core and calls it."""
from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import fastlstm
from fastlstm import _core

PKG = pathlib.Path(fastlstm.__file__).resolve().parent
# a source checkout (editable install): src/fastlstm beside csrc/
CHECKOUT = PKG.parent.parent if (PKG.parent.name == "src" and
                                 (PKG.parent.parent / "csrc").is_dir()) else None


def _header() -> pathlib.Path:
    """fastlstm.h as installed (fastlstm/include/), or csrc/ of a source checkout."""
    installed = PKG / "include" / "fastlstm.h"
    if installed.exists() or CHECKOUT is None:
        return installed
    return CHECKOUT / "csrc" / "fastlstm.h"


def test_version_is_one_string_everywhere():
    v = fastlstm.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", v), v
    assert importlib.metadata.version("fastlstm") == v
    text = _header().read_text()
    macro = re.search(r'#define FASTLSTM_VERSION_STRING "([^"]+)"', text)
    assert macro and macro.group(1) == v
    parts = {k: int(n) for k, n in
             re.findall(r"#define FASTLSTM_VERSION_(MAJOR|MINOR|PATCH) (\d+)", text)}
    assert f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}" == v


@pytest.mark.skipif(CHECKOUT is not None, reason="editable install: the header is in csrc/")
def test_wheel_carries_header_and_pxd_not_generated_c():
    assert (PKG / "include" / "fastlstm.h").is_file()
    assert (PKG / "_core.pxd").is_file()
    assert not (PKG / "_core.c").exists()
    dist = importlib.metadata.distribution("fastlstm")
    assert dist.metadata["License-Expression"] == "MIT"
    files = {str(f) for f in dist.files or ()}
    assert any(f.endswith("LICENSE") for f in files)
    assert "fastlstm/include/fastlstm.h" in files


def test_pxd_declares_what_the_header_declares():
    """Every function of _core.pxd exists in fastlstm.h with the same name."""
    pxd = (PKG / "_core.pxd").read_text()
    header = _header().read_text()
    names = re.findall(r"\b(lstm97_\w+)\(", pxd)
    assert len(names) > 20
    for name in names:
        assert re.search(rf"\b{name}\(", header), name


CYTHON_USER = textwrap.dedent('''
    # a user's Cython module: the core's declarations come from fastlstm/_core.pxd
    from fastlstm._core cimport (lstm97_dims, lstm97_layout, lstm97_layout_of, LSTM97_OK,
                                 LSTM97_ERR_DIMS, lstm97_version, FASTLSTM_VERSION_STRING)

    def versions():
        return lstm97_version().decode(), FASTLSTM_VERSION_STRING.decode()

    def n_params(int I, int K, int B, int S, bint output_gate=True):
        cdef lstm97_dims d
        d.I, d.K, d.B, d.S = I, K, B, S
        d.output_gate = output_gate
        d.forget_gate = 0
        d.g = d.h = d.out = d.kernel = 0
        d.sources = d.peepholes = 0          # the 1997 cell (zero every field)
        cdef lstm97_layout L
        cdef int rc = lstm97_layout_of(&d, &L)
        if rc == LSTM97_ERR_DIMS:
            raise ValueError("bad dims")
        assert rc == LSTM97_OK
        return L.n_params
''')

SETUP = textwrap.dedent('''
    import sys
    from Cython.Build import cythonize
    from setuptools import Extension, setup
    pkg_parent, include, core = sys.argv[1:4]
    del sys.argv[1:4]
    ext = Extension("user_mod", ["user_mod.pyx"], include_dirs=[include],
                    extra_objects=[core])
    setup(ext_modules=cythonize([ext], include_path=[pkg_parent], language_level=3))
''')


def test_cython_user_cimports_the_core(tmp_path):
    """A tiny Cython module compiled against the installed package: it `cimport`s the
    declarations (_core.pxd, which includes fastlstm.h) and calls lstm97_layout_of,
    linked against the extension module that holds the C core."""
    pytest.importorskip("Cython")
    pytest.importorskip("setuptools")
    cc = sysconfig.get_config_var("CC") or "cc"
    if shutil.which(cc.split()[0]) is None:
        pytest.skip(f"no C compiler ({cc})")
    (tmp_path / "user_mod.pyx").write_text(CYTHON_USER)
    (tmp_path / "setup.py").write_text(SETUP)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    build = subprocess.run(
        [sys.executable, "setup.py", str(PKG.parent), str(_header().parent),
         str(pathlib.Path(_core.__file__).resolve()), "build_ext", "--inplace"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    check = subprocess.run(
        [sys.executable, "-c",
         "import fastlstm, user_mod\n"
         "n = user_mod.n_params(2, 1, 2, 2)\n"
         "assert n == fastlstm.LSTM(2, 1, 2, 2).n_params == 95, n\n"
         "v = fastlstm.__version__\n"
         "assert user_mod.versions() == (v, v), user_mod.versions()\n"
         "assert user_mod.n_params(3, 2, 4, 1, False) == "
         "fastlstm.LSTM(3, 2, 4, 1, output_gate=False).n_params\n"
         "try:\n    user_mod.n_params(0, 1, 1, 1)\nexcept ValueError:\n    print('ok')\n"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 0 and check.stdout.strip() == "ok", check.stderr
