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

def rlhf_nb(*args, home=None, timeout=300, **kw):
    "Run the real `rlhf-nb` command; `home` sets RLHF_NB_HOME (default: the environment's)."
    env = {**os.environ, 'RLHF_NB_ENV': 'test', **({'RLHF_NB_HOME': str(home)} if home is not None else {})}
    import subprocess
    return subprocess.run([tool('rlhf-nb'), *args], capture_output=True, text=True, env=env, timeout=timeout, **kw)

def one_line_error(r, *words):
    "Assert `r` failed as a user error should: exit 2, one 'rlhf-nb: error:' line naming `words`, no traceback."
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('rlhf-nb: error: '), r.stderr
    assert 'Traceback' not in r.stderr + r.stdout
    for w in words: assert w in lines[0], lines[0]
