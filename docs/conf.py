"""Sphinx configuration for melgenre's documentation (``make docs``; no network needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

import melgenre  # noqa: E402

project = "melgenre"
author = "the melgenre developers"
copyright = "2026, the melgenre developers"
release = melgenre.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated/data", "Thumbs.db", ".DS_Store"]
html_theme = "furo"
html_static_path = ["_static"]
html_title = f"melgenre {release}"
templates_path: list[str] = []

# numpydoc-style docstrings, type hints shown in the descriptions
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autosummary_generate = False
# Keras has no type information: its classes appear as plain names
autodoc_mock_imports: list[str] = []
suppress_warnings = ["myst.header"]
myst_heading_anchors = 2


def _figures(app: object) -> None:
    """Run the tutorial script: it writes the tutorial's figures from the built-in demo data."""
    out = HERE / "_generated"
    stamp = out / ".done"
    script = HERE / "tutorial_code.py"
    if stamp.exists() and stamp.stat().st_mtime >= script.stat().st_mtime:
        return
    out.mkdir(exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    subprocess.run([sys.executable, str(script), str(out)], check=True, env=env)
    stamp.touch()


def setup(app: object) -> None:
    """Make the tutorial's figures before the pages are read."""
    app.connect("builder-inited", _figures)  # type: ignore[attr-defined]
