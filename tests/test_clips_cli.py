"""`rlhf-nb collect` as a user runs it: a real process, a throwaway data home, real files."""
import json, os, subprocess, sys
import numpy as np
import pytest
from conftest import one_line_error, rlhf_nb


def collect(home, *args):
    return rlhf_nb('collect', *args, home=home)


def test_collect_adds_pairs_and_keeps_env_id(tmp_path):
    from rlhf_nb.store import Store
    r = collect(tmp_path, '--name', 'cli-run', '--n-pairs', '3', '--segment-length', '10', '--fps', '12', '--seed', '1')
    assert r.returncode == 0, r.stderr
    assert 'collected 3 pairs' in r.stdout and "into run 'cli-run'" in r.stdout, r.stdout
    store = Store(tmp_path / 'test')
    run_dir = store.run_dir('cli-run')
    pairs = store.pairs('cli-run')
    assert len(pairs) == 3 and {p['iteration'] for p in pairs} == {0}
    for p in pairs:
        for key in ('video', 'left_video', 'right_video'):
            assert not os.path.isabs(p[key]) and (run_dir / p[key]).stat().st_size > 0
        seg = store.segment(p['left'])
        assert seg['env_id'] == 'CartPole-v1' and seg['length'] == 10 and seg['seed'] == 1 and seg['policy'] == 'random'
    assert store.get_run('cli-run')['env_id'] == 'CartPole-v1'

    r = collect(tmp_path, '--name', 'cli-run', '--n-pairs', '2')  # again: adds, with the run's env id
    assert r.returncode == 0, r.stderr
    assert len(Store(tmp_path / 'test').pairs('cli-run', iteration=0)) == 5

    r = collect(tmp_path, '--name', 'cli-run', '--env-id', 'ALE/Pong-v5', '--n-pairs', '1')
    one_line_error(r, 'cli-run', 'CartPole-v1', 'ALE/Pong-v5')
    assert len(Store(tmp_path / 'test').pairs('cli-run')) == 5  # nothing added


@pytest.mark.parametrize('args, words', [
    (['--name', '../escape'], ['invalid run name', '../escape']),
    (['--name', 'ok', '--env-id', 'NoSuchEnv-v0'], ['unknown env id', 'NoSuchEnv-v0']),
    (['--name', 'ok', '--n-pairs', '0'], ['n-pairs']),
    (['--name', 'ok', '--segment-length', '-3'], ['segment-length']),
])
def test_collect_user_errors(tmp_path, args, words):
    from rlhf_nb.store import Store
    one_line_error(collect(tmp_path, *args), *words)
    assert Store(tmp_path / 'test').list_runs() == []  # no run was created


def test_collect_atari(tmp_path):
    from rlhf_nb.store import Store
    r = collect(tmp_path, '--name', 'pong', '--env-id', 'ALE/Pong-v5', '--n-pairs', '1', '--segment-length', '8', '--seed', '0')
    assert r.returncode == 0, r.stderr
    store = Store(tmp_path / 'test')
    p, = store.pairs('pong')
    arrays = store.segment_arrays(p['left'])
    assert arrays['obs'].shape == (8, 4, 84, 84) and arrays['obs'].dtype.name == 'uint8'


def test_collect_label_pretrain_pendulum(tmp_path):
    "Continuous actions end to end: collect Pendulum clips, label them with the oracle, pretrain a reward model."
    from rlhf_nb.store import Store
    from rlhf_nb.reward import load_reward_model
    r = collect(tmp_path, '--name', 'pend', '--env-id', 'Pendulum-v1', '--n-pairs', '8', '--seed', '0')
    assert r.returncode == 0, r.stderr
    assert 'collected 8 pairs' in r.stdout and "into run 'pend'" in r.stdout, r.stdout
    r = rlhf_nb('label', '--name', 'pend', '--teacher', 'oracle', home=tmp_path)
    assert r.returncode == 0 and 'oracle teacher labeled 8 pairs' in r.stdout, r.stderr
    r = rlhf_nb('pretrain', '--name', 'pend', home=tmp_path)
    assert r.returncode == 0 and "reward model for run 'pend'" in r.stdout, r.stderr
    store = Store(tmp_path / 'test')
    assert store.get_run('pend')['env_id'] == 'Pendulum-v1'
    run_dir = store.run_dir('pend')
    for p in store.pairs('pend'):
        for key in ('video', 'left_video', 'right_video'):
            assert (run_dir / p[key]).stat().st_size > 0
        actions = store.segment_arrays(p['left'])['actions']
        assert actions.shape == (50, 1) and actions.dtype == np.float32 and np.abs(actions).max() <= 2  # torques within bounds
    model = load_reward_model(store, 'pend')
    # Pendulum's row of ENV_SETTINGS gives its reward model the observation only (its reward barely depends on the torque)
    assert (model.env_id, model.action_config, model.config['use_actions']) == ('Pendulum-v1', {'action_shape': [1]}, False)
    # a short train goes on from these labels: a Gaussian policy on the learned reward, evaluated on the env's return
    r = rlhf_nb('train', '--name', 'pend', '--env-id', 'Pendulum-v1', '--teacher', 'oracle', '--total-timesteps', '8192',
                '--label-budget', '12', '--eval-every', '4096', home=tmp_path)
    assert r.returncode == 0 and 'after 8192 env steps and 8 labels' in r.stdout, (r.stdout, r.stderr)
    returns = [e['true_return_mean'] for e in map(json.loads, (run_dir / 'evals.jsonl').read_text().splitlines())]
    assert len(returns) == 2 and all(-1800 < x <= 0 for x in returns), returns  # Pendulum's returns: 200 steps of cost


# `rlhf-nb collect` for an env whose actions are neither Discrete nor a Box. gymnasium registers none, so the command runs
# in a fresh process that first registers one: the same `main` the `rlhf-nb` script calls, after a `gym.register`.
BUTTONS_CLI = """
import sys
import numpy as np, gymnasium as gym
class Buttons(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.MultiBinary(3)  # three buttons pressed together
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}
    def step(self, action): return np.zeros(2, np.float32), 0.0, False, False, {}
gym.register('Buttons-v0', entry_point=Buttons, max_episode_steps=50)
from rlhf_nb.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_collect_refuses_other_action_spaces(tmp_path):
    from rlhf_nb.store import Store
    env = {**os.environ, 'RLHF_NB_HOME': str(tmp_path), 'RLHF_NB_ENV': 'test'}
    r = subprocess.run([sys.executable, '-c', BUTTONS_CLI, 'collect', '--name', 'ok', '--env-id', 'Buttons-v0', '--n-pairs', '1'],
                       capture_output=True, text=True, env=env, timeout=300)
    one_line_error(r, 'MultiBinary')
    assert 'discrete' in r.stderr.lower() and 'box' in r.stderr.lower(), r.stderr  # it names what is supported
    assert Store(tmp_path / 'test').list_runs() == []
