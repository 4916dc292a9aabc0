"""Sphinx configuration of the fastlstm documentation.

Build (from the repository root, with the ``docs`` extra installed)::

    pip install ".[docs]"
    sphinx-build -W -b html docs docs/_build/html

The API reference imports the installed ``fastlstm`` (its compiled core included), so
install the package first; the pages are Markdown read by MyST.
"""
from __future__ import annotations

import fastlstm

project = "fastlstm"
author = "the fastlstm authors"
copyright = "2026, the fastlstm authors"
release = fastlstm.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = [
    "_build",
    # its text is appended to reproduction.md by the report generator
    "reproduction/notes.md",
    "reproduction/beyond-1997-notes.md",
]

# Markdown: heading anchors so that pages can link to sections (model.md#squashing-functions)
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": True, "inherited-members": True,
                           "show-inheritance": False}
autodoc_typehints = "none"          # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"fastlstm {release}"
html_static_path: list[str] = []
