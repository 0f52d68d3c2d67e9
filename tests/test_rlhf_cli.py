"""The RLHF loop from the command line, as real processes: a killed `train` resumes and finishes,
user errors are one line with exit code 2, `eval --json` has its keys, a human teacher times out cleanly."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import one_line_error, rlhf_nb, tool

def test_bad_inputs(home):
    one_line_error(rlhf_nb('train', '--name', '../x', '--teacher', 'oracle'), 'invalid run name')
    one_line_error(rlhf_nb('train', '--name', 'ok', '--env-id', 'NoSuchEnv-v0', '--teacher', 'oracle'), 'unknown env id')
    one_line_error(rlhf_nb('train', '--name', 'ok', '--teacher', 'human', '--no-videos'), 'watching the videos')
    one_line_error(rlhf_nb('eval', '--name', 'nobody'), "no run named 'nobody'")
    one_line_error(rlhf_nb('pretrain', '--name', 'nobody'), "no run named 'nobody'")
    # a run with pairs but no labels yet
    assert rlhf_nb('collect', '--name', 'fresh', '--n-pairs', '3', '--seed', '1').returncode == 0
    one_line_error(rlhf_nb('pretrain', '--name', 'fresh'), 'fresh')
    one_line_error(rlhf_nb('eval', '--name', 'fresh'), 'no trained policy')
    # an env id that differs from the run's
    one_line_error(rlhf_nb('train', '--name', 'fresh', '--env-id', 'Acrobot-v1', '--teacher', 'oracle'), 'CartPole-v1')
    one_line_error(rlhf_nb('collect', '--name', 'fresh', '--env-id', 'Acrobot-v1', '--n-pairs', '1'), 'CartPole-v1')
    one_line_error(rlhf_nb('train', '--name', 'fresh', '--label-budget', '1', '--teacher', 'oracle'), 'label budget')

def _state(home: Path, name: str) -> dict:
    "How far run `name` got, as its record in the store file says: the round reached and PPO's env steps."
    db = json.loads((home / 'rlhf_nb.json').read_text())
    run = next(r for r in db['runs'].values() if r['name'] == name)
    return dict(round=run.get('iterations', 0), global_step=run.get('env_steps', 0))

def test_killed_train_resumes_and_finishes(home):
    args = ['train', '--name', 'resume', '--teacher', 'oracle', '--total-timesteps', '30000', '--label-budget', '60',
            '--seed', '3']
    proc = subprocess.Popen([tool('rlhf-nb'), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def round_1():  # killed once the store records round 1 (its checkpoint is written just before)
        runs = json.loads((home / 'rlhf_nb.json').read_text())['runs'] if (home / 'rlhf_nb.json').exists() else {}
        return any(r['name'] == 'resume' and r.get('iterations', 0) >= 1 for r in runs.values())
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not round_1(): time.sleep(0.2)
    assert proc.poll() is None, "train ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    killed = _state(home, 'resume')
    assert killed['round'] >= 1 and killed['global_step'] >= 10_000, killed

    r = rlhf_nb(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    done = _state(home, 'resume')
    assert done['global_step'] >= killed['global_step'], (killed, done)  # the step count was not reset
    db = json.loads((home / 'rlhf_nb.json').read_text())
    pairs = [p for p in db['pairs'].values() if p['run'] == 'resume']
    assert len(pairs) <= 60                                             # the budget holds across the kill
    by_iter = {}
    for p in pairs: by_iter[p['iteration']] = by_iter.get(p['iteration'], 0) + 1
    assert by_iter[0] == 40, by_iter                                    # pretraining pairs were not asked again
    rewards = [m for m in db['models'].values() if m['run'] == 'resume' and m['kind'] == 'reward']
    iters = [m['iteration'] for m in rewards]
    assert len(iters) == len(set(iters)), iters                         # no round's reward model trained twice

    e = rlhf_nb('eval', '--name', 'resume', '--episodes', '3', '--json')
    assert e.returncode == 0, e.stderr
    result = json.loads(e.stdout)
    assert {'true_return_mean', 'true_return_std', 'episodes', 'env_steps', 'labels'} <= set(result)
    assert result['episodes'] == 3 and result['env_steps'] == done['global_step'] and 0 < result['labels'] <= 60

def test_human_teacher_times_out_with_what_is_labeled(home):
    r = rlhf_nb('train', '--name', 'person', '--teacher', 'human', '--human-timeout', '2', '--total-timesteps', '2048',
                '--label-budget', '10')
    # nobody labeled: it said what waits for whom, then stopped with a clear error instead of hanging
    assert 'wait for your labels' in r.stdout and 'LabelingPanel' in r.stdout, r.stdout
    one_line_error(r, 'person')
    assert rlhf_nb('label', '--name', 'person', '--teacher', 'oracle', '--limit', '6').returncode == 0
    r = rlhf_nb('train', '--name', 'person', '--human-timeout', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'stay pending' in r.stdout

def test_synthetic_teacher_videos_only_when_asked(home):
    "The oracle reads rewards, so its pairs get no video unless `--videos` asks; then every file is there at exit."
    for name, flag in (('plain', []), ('watched', ['--videos'])):
        r = rlhf_nb('train', '--name', name, '--teacher', 'oracle', '--total-timesteps', '2048', '--label-budget', '6',
                    *flag)
        assert r.returncode == 0, r.stderr[-3000:]
    db = json.loads((home / 'rlhf_nb.json').read_text())
    pairs = {name: [p for p in db['pairs'].values() if p['run'] == name] for name in ('plain', 'watched')}
    assert len(pairs['plain']) == len(pairs['watched']) == 6
    assert all(p['video'] is None for p in pairs['plain']) and not (home / 'runs' / 'plain' / 'videos').exists()
    for p in pairs['watched']:
        for key in ('video', 'left_video', 'right_video'):
            path = home / 'runs' / 'watched' / p[key]
            assert path.stat().st_size > 1000, path  # written before the process exited
