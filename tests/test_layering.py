"""The model, mux, remote and demo never load Textual or Rich (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import sessiontui.demo
import sessiontui.model
import sessiontui.mux
import sessiontui.remote

CORE = sorted(
    {
        info.name
        for package in (sessiontui.model, sessiontui.mux, sessiontui.remote, sessiontui.demo)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    }
)

CHECK = """
import importlib, sys
importlib.import_module(sys.argv[1])
bad = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("textual", "rich") or m.startswith("sessiontui.ui")
)
print(",".join(bad))
"""


def test_core_modules_found():
    assert "sessiontui.model.store" in CORE
    assert "sessiontui.mux.tmux" in CORE
    assert "sessiontui.remote.protocol" in CORE


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_ui(module):
    result = subprocess.run(
        [sys.executable, "-c", CHECK, module], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_ls_runs_without_textual(tmp_path):
    code = (
        "import sys, sessiontui.cli as c\n"
        "c.main(['ls', '--json', '--sessions-dir', sys.argv[1]])\n"
        "loaded = any(m.split('.')[0] == 'textual' for m in sys.modules)\n"
        "print('UI' if loaded else 'OK', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().endswith("OK")
