"""Shared test setup: every test (and every notebook it runs) writes under a throwaway data home."""
import os, tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / '.venv' / 'bin'

# Set before any test runs, so subprocesses (notebooks, the CLI) inherit it too.
_home = tempfile.mkdtemp(prefix='rlhf_nb_test_home_')
os.environ['RLHF_NB_HOME'] = _home
os.environ['RLHF_NB_ENV'] = 'test'
os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')

def tool(name: str) -> str:
    "Path of a console script in the project's venv (falls back to PATH)."
    p = VENV_BIN / name
    return str(p) if p.exists() else name

@pytest.fixture
def home(tmp_path, monkeypatch):
    "A fresh, empty data home for one test."
    monkeypatch.setenv('RLHF_NB_HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('RLHF_NB_ENV', 'test')
    return tmp_path / 'home' / 'test'
