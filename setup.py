"""Build the compiled core of fastlstm (metadata lives in pyproject.toml).

Environment variables:
  FASTLSTM_SANITIZE=1   build with AddressSanitizer + UndefinedBehaviorSanitizer (-O1 -g)
  FASTLSTM_NATIVE=1     add -march=native (opt-in; the default build is portable)
"""
import os
import shutil
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
# the C sources of the library; CMakeLists.txt builds libfastlstm from the same list
C_SOURCES = ["csrc/lstm97.c", "csrc/lstm97_init.c"]
# the headers they include (a change to any of them rebuilds the extension); CMakeLists.txt
# lists the same files
C_HEADERS = sorted(os.path.join("csrc", f) for f in os.listdir(os.path.join(HERE, "csrc"))
                   if f.endswith(".h"))


class BuildPyWithHeader(build_py):
    """build_py that also copies csrc/fastlstm.h into the package (fastlstm/include/),
    so that the wheel carries the header that _core.pxd declares from."""

    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "fastlstm", "include")
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(os.path.join(HERE, "csrc", "fastlstm.h"), dest)

compile_args = []
link_args = []
if sys.platform != "win32":
    # -ffp-contract=off: never fuse a * b + c (-march=native would allow it), so that the
    # tuned and the plain kernels, which order every sum alike, agree bit for bit
    compile_args = ["-O3", "-ffp-contract=off"]
    if os.environ.get("FASTLSTM_NATIVE") == "1":
        compile_args.append("-march=native")
    if os.environ.get("FASTLSTM_SANITIZE") == "1":
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=undefined"]
        compile_args = ["-O1", "-g", "-ffp-contract=off"] + san
        link_args = san

ext = Extension(
    "fastlstm._core",
    sources=["src/fastlstm/_core.pyx", *C_SOURCES],
    depends=C_HEADERS,
    include_dirs=["csrc", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(cmdclass={"build_py": BuildPyWithHeader},
      ext_modules=cythonize([ext], language_level=3,
                            compiler_directives={"boundscheck": False,
                                                 "wraparound": False}))
