"""`rlhf-nb collect` as a user runs it: a real process, a throwaway data home, real files."""
import json, os, subprocess
import pytest
from conftest import one_line_error, rlhf_nb


def collect(home, *args):
    return rlhf_nb('collect', *args, home=home)


def test_collect_adds_pairs_and_keeps_env_id(tmp_path):
    from rlhf_nb.store import Store
    r = collect(tmp_path, '--name', 'cli-run', '--n-pairs', '3', '--segment-length', '10', '--fps', '12', '--seed', '1')
    assert r.returncode == 0, r.stderr
    assert "collected 3 pairs into run 'cli-run'" in r.stdout
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
    (['--name', 'ok', '--env-id', 'MountainCarContinuous-v0'], ['discrete']),
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
