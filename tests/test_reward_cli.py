"""`rlhf-nb collect` -> `label --teacher` -> `pretrain [--wait]` as a user runs them: real processes, a throwaway data home."""
import json, os, subprocess, time
from conftest import one_line_error, tool
from conftest import rlhf_nb as _rlhf_nb


def rlhf_nb(home, *args, **kw): return _rlhf_nb(*args, home=home, **kw)


def test_collect_label_pretrain(tmp_path):
    from rlhf_nb.store import Store
    from rlhf_nb.reward import RewardModel
    r = rlhf_nb(tmp_path, 'collect', '--name', 'rw', '--n-pairs', '24', '--seed', '0')
    assert r.returncode == 0, r.stderr
    one_line_error(rlhf_nb(tmp_path, 'pretrain', '--name', 'rw'), "run 'rw' has 0 pair(s) labeled left or right", 'rlhf-nb label')

    r = rlhf_nb(tmp_path, 'label', '--name', 'rw', '--teacher', 'oracle', '--limit', '20')
    assert r.returncode == 0, r.stderr
    assert "oracle teacher labeled 20 pairs of run 'rw'" in r.stdout
    store = Store(tmp_path / 'test')
    labeled = store.labeled_pairs('rw', include_unknown=True)
    assert len(labeled) == 20 and len(store.pending_pairs('rw')) == 4
    assert {lab['labeler'] for _, lab in labeled} == {'teacher:oracle'}
    for pair, lab in labeled:  # the oracle's answers, as recorded
        l, r_ = store.segment(pair['left'])['true_return'], store.segment(pair['right'])['true_return']
        assert lab['label'] == ('left' if l > r_ else 'right' if l < r_ else 'tie')

    r = rlhf_nb(tmp_path, 'pretrain', '--name', 'rw')
    assert r.returncode == 0, r.stderr
    assert "reward model for run 'rw': val accuracy" in r.stdout, r.stdout
    show = rlhf_nb(tmp_path, 'runs', 'show', 'rw', '--json')
    assert show.returncode == 0, show.stderr
    summary = json.loads(show.stdout)
    rm = summary['reward_model']
    assert 0 <= rm['val_accuracy'] <= 1 and rm['val_loss'] > 0 and rm['iteration'] == 0
    assert summary['labeled'] == 20 and summary['pending'] == 4
    store = Store(tmp_path / 'test')
    path = store.file_path('rw', rm['file'])
    assert path.parent == store.run_dir('rw') / 'models' and path.exists()
    model = RewardModel.load(path)  # weights_only=True
    assert bool(model.fitted) and len(model.members) == 3
    record = store.latest_model('rw', 'reward')
    assert record['metrics']['n_pairs'] == 20 - summary['labels']['unknown'] and len(record['metrics']['history']) >= 2


def test_pretrain_wait_until_labeled(tmp_path):
    "--wait blocks while pairs are pending, then trains on all of them once a teacher has labeled the rest."
    from rlhf_nb.store import Store
    assert rlhf_nb(tmp_path, 'collect', '--name', 'w', '--n-pairs', '12', '--seed', '3').returncode == 0
    assert rlhf_nb(tmp_path, 'label', '--name', 'w', '--teacher', 'oracle', '--limit', '6').returncode == 0
    env = {**os.environ, 'RLHF_NB_HOME': str(tmp_path), 'RLHF_NB_ENV': 'test'}
    waiting = subprocess.Popen([tool('rlhf-nb'), 'pretrain', '--name', 'w', '--wait'], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)
        assert waiting.poll() is None, waiting.communicate()  # still waiting for the 6 pending pairs
        assert Store(tmp_path / 'test').latest_model('w', 'reward') is None
        assert rlhf_nb(tmp_path, 'label', '--name', 'w', '--teacher', 'oracle').returncode == 0
        out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None: waiting.kill()
    assert waiting.returncode == 0, err
    assert 'val accuracy' in out
    assert 'labels of w' in err  # the progress bar
    record = Store(tmp_path / 'test').latest_model('w', 'reward')
    assert record['metrics']['n_pairs'] == 12 - Store(tmp_path / 'test').summary('w')['labels']['unknown']


def test_user_errors(tmp_path):
    one_line_error(rlhf_nb(tmp_path, 'pretrain', '--name', 'nope'), "no run named 'nope'")
    one_line_error(rlhf_nb(tmp_path, 'label', '--name', 'nope', '--teacher', 'oracle'), "no run named 'nope'")
    one_line_error(rlhf_nb(tmp_path, 'pretrain', '--name', '../x'), 'invalid run name')
    assert rlhf_nb(tmp_path, 'collect', '--name', 'e', '--n-pairs', '2', '--seed', '0').returncode == 0
    one_line_error(rlhf_nb(tmp_path, 'label', '--name', 'e', '--teacher', 'oracle', '--limit', '-3'), '>= 0')
    one_line_error(rlhf_nb(tmp_path, 'label', '--name', 'e', '--teacher', 'grumpy'), 'invalid choice')
