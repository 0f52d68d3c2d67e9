"""Every notebook runs with nbdev's own test runner, one pytest test per notebook so the summary counts them.

`#| slow` cells are skipped, as `nbdev-test` skips them; `pytest -m slow` runs every notebook with them.
"""
import subprocess
from pathlib import Path
import pytest
from conftest import ROOT, tool

NOTEBOOKS = sorted(p for p in (ROOT / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)

def _run(nb: Path, flags: str = ''):
    cmd = [tool('nbdev-test'), str(nb)] + (['--flags', flags] if flags else [])
    # The longest notebook takes about 11 minutes on 2 busy cores; the limit only stops a hang.
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"{nb.relative_to(ROOT)} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT / 'nbs')) for p in NOTEBOOKS])
def test_notebook_runs(nb):
    _run(nb)

@pytest.mark.slow
@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT / 'nbs')) for p in NOTEBOOKS])
def test_notebook_runs_slow_cells(nb):
    _run(nb, 'slow')
