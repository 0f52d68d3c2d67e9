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

# The slowest tests, slowest first, as `make test --durations` listed them on 2 cores. pytest-xdist's worksteal gives
# each worker a contiguous half of the collected tests and lets an idle worker take the back of the other's queue:
# collected first, the long tests start at once and only short ones are left to share at the end, so both workers
# finish together instead of one running a ten-minute notebook alone.
SLOWEST_FIRST = [
    'tests/test_notebooks.py::test_notebook_runs[tutorials/continuous_control.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[tutorials/atari.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[tutorials/feedback_quality.ipynb]',
    'tests/test_sweep.py::test_interrupted_sweep_resumes_and_records_failures',
    'tests/test_notebooks.py::test_notebook_runs[tutorials/reuse_reward.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[tutorials/beyond_cartpole.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[tutorials/cartpole.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[11_sweep.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[07_reward.ipynb]',
    'tests/test_notebooks.py::test_notebook_runs[09_ppo.ipynb]',
    'tests/test_damaged_files.py::test_check_finds_each_damaged_file_and_repair_starts_over',
]

def pytest_collection_modifyitems(items):
    "Run `SLOWEST_FIRST` first, in its order; every other test keeps its place after them."
    rank = {nodeid: i for i, nodeid in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))

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
