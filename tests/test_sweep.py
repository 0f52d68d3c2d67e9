"""`rlhf-nb sweep` on a real local Ray with tiny budgets: bad grids (and lists of conditions) are one line and exit 2
before Ray starts; a 4-cell sweep interrupted after its first cell keeps it, stops cleanly, and started again runs
only the rest; a failing cell is recorded while the others finish; no Ray process outlives the sweep."""
import json, os, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path
import pytest
from conftest import one_line_error, rlhf_nb, tool
from rlhf_nb.cli import main

GRID = ['--grid', 'env_id=Acrobot-v1,CartPole-v1', 'total_timesteps=8192', 'label_budget=6', '--seeds', '2']  # CartPole's cells run for seconds, so the Ctrl-C below lands while they run

def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err

def test_bad_grids_fail_before_ray_starts(home, capsys, monkeypatch):
    import ray
    def refuse(*a, **k): raise AssertionError("Ray was started for a bad grid")
    monkeypatch.setattr(ray, 'init', refuse)
    for args, msg in ((['--grid', 'budget=20'], "unknown grid field 'budget'"),
                      (['--grid', 'label_budget=lots'], "grid label_budget: 'lots' is not an int"),
                      (['--grid', 'label_budget='], 'has no values'),
                      (['--grid', 'label_budget'], 'use FIELD=VALUE'),
                      (['--grid', 'teacher=oracle,human'], "teacher=human: teacher 'human'"),
                      (['--grid', 'env_id=NoSuchEnv-v0'], 'unknown env id'),
                      (['--grid', 'label_budget=6', '--seeds', 'many'], "--seeds 'many'"),
                      (['--grid', 'label_budget=6', '--seeds', '0'], 'seeds []')):
        code, out, err = run_main(capsys, 'sweep', '--name', 'bad', *args)
        assert (code, err.count('\n')) == (2, 1), (args, code, err)
        assert err.startswith('rlhf-nb: error: ') and msg in err, (args, err)
    assert not (home / 'sweeps').exists()  # nothing written either
    code, out, err = run_main(capsys, 'sweep', '--show', 'nobody')
    assert code == 2 and "no sweep named 'nobody'" in err
    one_line_error(rlhf_nb('sweep', '--name', 'bad', '--grid', 'selection=random'), "selection 'random'")

def test_bad_conditions_fail_before_ray_starts(home, monkeypatch):
    "A list of conditions, from Python, is checked as a grid is: a one-line error before Ray starts, nothing written."
    import ray
    from rlhf_nb.core import UserError
    from rlhf_nb.sweep import sweep
    def refuse(*a, **k): raise AssertionError("Ray was started for bad conditions")
    monkeypatch.setattr(ray, 'init', refuse)
    ok = {'label_budget': 20, 'pretrain_pairs': 8}
    for conditions, msg in (([], 'non-empty list'), ([ok, {'budget': 50}], "unknown grid field 'budget'"),
                            ([ok, {'label_budget': 50}], 'every condition sets the same fields'),
                            ([ok, {'pretrain_pairs': 8, 'label_budget': 20}], 'is given twice'),
                            ([ok, {'label_budget': 'lots', 'pretrain_pairs': 8}], "'lots' is not an int"),
                            ([ok, {'label_budget': [50, 100], 'pretrain_pairs': 8}], 'one value in a condition'),
                            ([ok, {'label_budget': 1, 'pretrain_pairs': 1}], 'label budget 1')):
        with pytest.raises(UserError) as e: sweep(conditions, 2, 'bad')
        assert msg in str(e.value) and '\n' not in str(e.value), (conditions, e.value)
    assert not (home / 'sweeps').exists()

def test_without_ray_says_how_to_install(home, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'ray', None)  # `import ray` fails as if it were not installed
    code, out, err = run_main(capsys, 'sweep', '--name', 'noray', '--grid', 'label_budget=6', '--seeds', '1')
    assert (code, err.count('\n')) == (2, 1) and 'pip install rlhf_nb[sweep]' in err, err
    assert not (home / 'sweeps').exists()

def _ray_processes(tmpdir: str) -> list[str]:
    "Processes of the Ray whose temp dir is `tmpdir` (raylet, gcs_server, agents, workers), by command line or environment."
    found = []
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try: cmd, env = (p / 'cmdline').read_bytes(), (p / 'environ').read_bytes()
        except OSError: continue
        if tmpdir.encode() in cmd or f'RAY_TMPDIR={tmpdir}'.encode() in env:
            found.append(p.name + ' ' + cmd.replace(b'\0', b' ')[:80].decode(errors='replace'))
    return found

def _no_ray_left(tmpdir: str):
    deadline = time.time() + 15  # Ray's processes exit within moments of the shutdown
    while _ray_processes(tmpdir) and time.time() < deadline: time.sleep(0.5)
    assert _ray_processes(tmpdir) == []

@pytest.fixture
def ray_tmp():
    "A temp dir for the Ray that a sweep starts (short: Ray's socket paths live under it), removed after."
    d = tempfile.mkdtemp(prefix='rt', dir='/tmp')
    yield d
    shutil.rmtree(d, ignore_errors=True)

def _ctrl_c_as_from_a_terminal():
    "In the child, before it runs: SIGINT handled by default and not blocked, whatever the test process inherited."
    # A process started with SIGINT ignored keeps ignoring it (Python makes it KeyboardInterrupt only if it is not
    # ignored at start), and a blocked SIGINT stays pending: either way one Ctrl-C would be lost.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

def test_interrupted_sweep_resumes_and_records_failures(home, tmp_path, ray_tmp, capsys):
    env = {**os.environ, 'RAY_TMPDIR': ray_tmp}
    cells = home / 'sweeps' / 'study' / 'cells'
    cmd = [tool('rlhf-nb'), 'sweep', '--name', 'study', *GRID]
    with open(tmp_path / 'out1.txt', 'w') as out, open(tmp_path / 'err1.txt', 'w') as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, preexec_fn=_ctrl_c_as_from_a_terminal)
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None and not list(cells.glob('*.json')): time.sleep(0.1)
        assert proc.poll() is None, (tmp_path / 'err1.txt').read_text()[-2000:]
        proc.send_signal(signal.SIGINT)  # Ctrl-C after the first cell
        assert proc.wait(timeout=90) == 130, (signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, []))
    err1 = (tmp_path / 'err1.txt').read_text()
    assert 'rlhf-nb: interrupted' in err1 and 'its finished cells are kept' in err1 and 'Traceback' not in err1, err1[-3000:]
    _no_ray_left(ray_tmp)
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cells.glob('*.json')}
    assert 1 <= len(first) < 4, sorted(first)

    # how it stands, from another process's point of view: finished and pending cells
    code, out, _ = run_main(capsys, 'sweep', '--show', 'study', '--json')
    shown = json.loads(out)
    assert code == 0 and [c['status'] for c in shown['cells']].count('pending') == 4 - len(first)

    # started again: only the rest runs; the Acrobot cells fail (every label a tie), the CartPole cells finish
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"4 cells, {len(first)} finished, {4 - len(first)} to run" in r.stdout, r.stdout
    assert {p: (p_.read_bytes(), p_.stat().st_mtime_ns) for p, p_ in ((n, cells / n) for n in first)} == first
    _no_ray_left(ray_tmp)
    folder = home / 'sweeps' / 'study'
    assert len((folder / 'cells.csv').read_text().splitlines()) == 1 + 4
    assert len((folder / 'summary.csv').read_text().splitlines()) == 1 + 2
    assert (folder / 'sweep.png').read_bytes()[:4] == b'\x89PNG'

    code, out, _ = run_main(capsys, 'sweep', '--show', 'study', '--json')
    shown = json.loads(out)
    by_env = {}
    for c in shown['cells']:
        assert {'env_id', 'total_timesteps', 'label_budget', 'seed', 'status', 'final_true_return', 'labels', 'error'} <= set(c)
        by_env.setdefault(c['env_id'], []).append(c)
    assert [c['status'] for c in by_env['CartPole-v1']] == ['done', 'done']
    assert all(c['labels'] == 6 and c['final_true_return'] > 0 and c['env_steps'] == 8192 for c in by_env['CartPole-v1'])
    assert [c['status'] for c in by_env['Acrobot-v1']] == ['failed', 'failed']
    assert all('the labels carry nothing to learn from' in c['error'] and '--teacher judge' in c['error'] and
               '\n' not in c['error'] for c in by_env['Acrobot-v1'])
    assert shown['counts'] == dict(cells=4, done=2, failed=2, pending=0)
    code, out, _ = run_main(capsys, 'sweep', '--show', 'study')
    assert '4 cells (2 conditions × 2 seeds): 2 done, 2 failed, 0 pending' in out and 'failed c000-s0' in out, out

    # the same command once more: nothing is left to run, and Ray is not started (no new Ray session)
    sessions = sorted(Path(ray_tmp).glob('ray/session_2*'))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and '4 finished, 0 to run' in r.stdout, r.stderr
    assert sorted(Path(ray_tmp).glob('ray/session_2*')) == sessions and len(sessions) == 2
    # another grid under the same name is refused
    one_line_error(rlhf_nb('sweep', '--name', 'study', '--grid', 'label_budget=8'), 'exists with other settings')
