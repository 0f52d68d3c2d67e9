"""Beyond CartPole from the command line, as a user runs it: `rlhf-nb collect` -> `label` -> `pretrain` on each built-in
env (the judge where the env's reward ties every short clip), the one line when the labels carry nothing, and
`train --target-return`: off unless given. Real processes, a throwaway data home, small budgets."""
import re
import pytest
from conftest import one_line_error, rlhf_nb


def _expected(store, pair, criterion):
    "The answer a rational teacher gives for a stored pair: by the true return, or by the judge's criterion."
    if criterion is None: l, r = (store.segment(pair[k])['true_return'] for k in ('left', 'right'))
    else:
        from types import SimpleNamespace
        l, r = (criterion.judge(SimpleNamespace(**store.segment_arrays(pair[k]))) for k in ('left', 'right'))
    return 'left' if l > r else 'right' if l < r else 'tie'


def _box2d():
    try: import Box2D  # noqa: F401  (gymnasium[box2d], for LunarLander)
    except ImportError: return False
    return True


@pytest.mark.parametrize('env_id, teacher, criterion', [
    ('CartPole-v1', 'oracle', None),
    ('Acrobot-v1', 'judge', 'swing-height'),
    pytest.param('LunarLander-v3', 'judge', None, marks=pytest.mark.skipif(  # the default, near-pad-fuel, sees the actions
        not _box2d(), reason="LunarLander-v3 needs gymnasium[box2d] (import Box2D fails)")),
])
def test_collect_label_pretrain(home, env_id, teacher, criterion):
    from rlhf_nb.store import Store
    from rlhf_nb.envs import env_settings
    from rlhf_nb.teachers import criterion_for
    r = rlhf_nb('collect', '--name', 'suite', '--env-id', env_id, '--n-pairs', '6', '--seed', '0')
    assert r.returncode == 0, r.stderr[-3000:]
    length = env_settings(env_id)['loop'].get('segment_length', 25)
    assert f"collected 6 pairs of {length}-step clips" in r.stdout, r.stdout  # the env's clip length by default
    r = rlhf_nb('label', '--name', 'suite', '--teacher', teacher, *(['--criterion', criterion] if criterion else []))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"labeled 6 pairs of run 'suite'" in r.stdout, r.stdout
    store = Store(home)
    judge = criterion_for(env_id, criterion) if teacher == 'judge' else None
    labeled = store.labeled_pairs('suite', include_unknown=True)
    assert len(labeled) == 6 and not store.pending_pairs('suite')
    for pair, lab in labeled:  # each answer is the teacher's, under its own labeler id
        assert store.segment(pair['left'])['length'] == length
        assert lab['labeler'] == ('teacher:oracle' if judge is None else f'teacher:judge:{judge.name}')
        assert lab['label'] == _expected(store, pair, judge)
    if judge is not None: assert all(lab['label'] != 'tie' for _, lab in labeled)  # heights differ, returns do not

    r = rlhf_nb('pretrain', '--name', 'suite')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "reward model for run 'suite': val accuracy" in r.stdout, r.stdout
    record = Store(home).latest_model('suite', 'reward')
    assert record['iteration'] == 0 and Store(home).file_path('suite', record['file']).exists()


def test_mountaincar_ties_under_the_oracle_not_the_judge(home):
    "The oracle ties every random MountainCar pair (-1 a step): pretrain says so in one line and what helps; the judge's labels train."
    from rlhf_nb.store import Store
    from rlhf_nb.teachers import criterion_for
    assert rlhf_nb('collect', '--name', 'car', '--env-id', 'MountainCar-v0', '--n-pairs', '8', '--seed', '0').returncode == 0
    r = rlhf_nb('label', '--name', 'car', '--teacher', 'oracle', '--limit', '4')
    assert r.returncode == 0, r.stderr[-3000:]
    store = Store(home)
    assert [lab['label'] for _, lab in store.labeled_pairs('car', include_unknown=True)] == ['tie'] * 4
    one_line_error(rlhf_nb('pretrain', '--name', 'car'), "run 'car'", 'the labels carry nothing to learn from',
                   'of 4 labeled pairs 4 are ties', '--segment-length', '--teacher judge', 'labeling panel')
    assert Store(home).latest_model('car', 'reward') is None

    one_line_error(rlhf_nb('label', '--name', 'car', '--teacher', 'judge', '--criterion', 'speed'),
                   "no judging criterion 'speed' for env MountainCar-v0: use one of climb")
    one_line_error(rlhf_nb('label', '--name', 'car', '--teacher', 'oracle', '--criterion', 'climb'), "goes with teacher 'judge'")
    r = rlhf_nb('label', '--name', 'car', '--teacher', 'judge')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "judge teacher (climb) labeled 4 pairs of run 'car'" in r.stdout, r.stdout
    store = Store(home)
    judged = [(p, lab) for p, lab in store.labeled_pairs('car') if lab['labeler'] == 'teacher:judge:climb']
    assert len(judged) == 4 and all(lab['label'] == _expected(store, p, criterion_for('MountainCar-v0')) for p, lab in judged)
    r = rlhf_nb('pretrain', '--name', 'car')
    assert r.returncode == 0, r.stderr[-3000:]
    assert Store(home).latest_model('car', 'reward')['metrics']['n_pairs'] == 8  # 4 ties and 4 of the judge's


def _steps(stdout):
    "The env steps `rlhf-nb train` says it trained."
    return int(re.search(r'after (\d+) env steps', stdout).group(1))


def test_target_return_off_by_default_on_when_given(home):
    from rlhf_nb.store import Store
    from rlhf_nb.rlhf import read_log
    common = ['--teacher', 'oracle', '--label-budget', '6', '--total-timesteps', '4096', '--eval-every', '1024', '--seed', '0']
    r = rlhf_nb('train', '--name', 'whole', *common)  # no target: every evaluation, and PPO to the end of the budget
    assert r.returncode == 0, r.stderr[-3000:]
    evals = read_log(Store(home).run_dir('whole') / 'evals.jsonl', 'whole')
    assert _steps(r.stdout) == 4096 and [e['global_step'] for e in evals] == [1024, 2048, 3072, 4096], (r.stdout, evals)
    assert 'stopped early' not in r.stdout
    assert Store(home).get_run('whole')['loop_config']['target_return'] is None

    r = rlhf_nb('train', '--name', 'target', *common, '--target-return', '0')  # any evaluation reaches 0: the first stops it
    assert r.returncode == 0, r.stderr[-3000:]
    assert _steps(r.stdout) == 1024 and 'stopped early: it reached --target-return 0' in r.stdout, r.stdout
    assert len(read_log(Store(home).run_dir('target') / 'evals.jsonl', 'target')) == 1
    assert Store(home).get_run('target')['loop_config']['target_return'] == 0
