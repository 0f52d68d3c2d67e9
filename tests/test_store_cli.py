"""`rlhf-nb runs ...` through the real command, on a store in a throwaway data home."""
import csv, json, subprocess
from pathlib import Path
import numpy as np
import pytest
from conftest import tool
from rlhf_nb.store import Store

def cli(*args, cwd=None, input=None):
    return subprocess.run([tool('rlhf-nb'), *args], capture_output=True, text=True, cwd=cwd, input=input, timeout=60)

def _files(d: Path) -> dict:
    return {p.relative_to(d): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}

def _records(store: Store, name: str):
    return store.get_run(name), store.segments(name), store.pairs(name), store.labels(name), store.models(name)

@pytest.fixture
def populated(home):
    "Run 'alpha': 4 pairs, 3 labels (one relabeled and undone), a reward model; run 'beta': empty."
    store = Store(home)
    store.create_run('alpha', 'CartPole-v1', config=dict(segment_length=5))
    with store.batch():
        segs = [store.add_segment('alpha', 0, dict(obs=np.full((5, 4), i, np.float32), rewards=np.ones(5, np.float32)))
                for i in range(8)]
        pairs = [store.add_pair('alpha', 0, segs[2 * i], segs[2 * i + 1], video=f'videos/pair_{i}.mp4') for i in range(4)]
    (store.run_dir('alpha') / 'videos').mkdir()
    for i in range(4): (store.run_dir('alpha') / 'videos' / f'pair_{i}.mp4').write_bytes(b'fake mp4 %d' % i)
    store.add_label(pairs[0], 'left', seconds=1.5)
    store.undo_label(store.add_label(pairs[0], 'right'))
    store.add_label(pairs[1], 'unknown', labeler='teacher:oracle')
    store.add_model('alpha', 'reward', 0, 'models/reward_0.pt', metrics=dict(val_accuracy=0.8, val_loss=0.45))
    store.update_run('alpha', env_steps=2048)
    store.create_run('beta', 'Acrobot-v1')
    return store, pairs

def test_list_on_an_empty_home(home):
    r = cli('runs', 'list')
    assert r.returncode == 0 and 'no runs' in r.stdout
    assert not home.exists()  # looking created nothing

def test_list_and_show(populated):
    r = cli('runs', 'list')
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.strip().split('\n')[1:]}
    assert rows['alpha'][1:] == ['CartPole-v1', '4', '2', '2'] and rows['beta'][1:] == ['Acrobot-v1', '0', '0', '0']
    r = cli('runs', 'show', 'alpha', '--json')
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert {'name', 'env_id', 'pairs', 'labeled', 'pending', 'labels', 'reward_model', 'iterations', 'env_steps'} <= set(s)
    assert (s['name'], s['env_id'], s['pairs'], s['labeled'], s['pending']) == ('alpha', 'CartPole-v1', 4, 2, 2)
    assert s['labels'] == dict(left=1, right=0, tie=0, unknown=1)
    assert (s['reward_model']['val_accuracy'], s['reward_model']['val_loss']) == (0.8, 0.45)
    assert (s['iterations'], s['env_steps']) == (1, 2048)
    assert json.loads(cli('runs', 'show', 'beta', '--json').stdout)['reward_model'] is None
    r = cli('runs', 'show', 'alpha')
    assert r.returncode == 0 and 'CartPole-v1' in r.stdout

@pytest.mark.parametrize('args, message', [
    (['runs', 'show', 'nope'], "no run named 'nope'"),
    (['runs', 'show', '../etc'], 'invalid run name'),
    (['runs', 'delete', 'nope', '--yes'], "no run named 'nope'"),
    (['runs', 'fork', 'nope', 'x'], "no run named 'nope'"),
    (['runs', 'fork', 'alpha', 'beta'], "run named 'beta' already exists"),
    (['runs', 'fork', 'alpha', 'a/b'], 'invalid run name'),
    (['runs', 'export', 'alpha', 'out.txt'], 'must end in .json or .csv'),
    (['runs', 'export', 'nope', 'out.json'], "no run named 'nope'"),
])
def test_mistakes_are_one_line_exit_2(populated, tmp_path, args, message):
    before = _files(populated[0].home)
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ''
    assert r.stderr.count('\n') == 1 and message in r.stderr, r.stderr
    assert _files(populated[0].home) == before  # nothing touched

def test_fork_leaves_the_source_untouched(populated):
    store, pairs = populated
    records, files = _records(store, 'alpha'), _files(store.run_dir('alpha'))
    r = cli('runs', 'fork', 'alpha', 'alpha-2')
    assert r.returncode == 0, r.stderr
    assert _records(store, 'alpha') == records and _files(store.run_dir('alpha')) == files
    fork = Store(store.home)
    a, b = fork.summary('alpha'), fork.summary('alpha-2')
    assert {k: b[k] for k in ('env_id', 'pairs', 'labeled', 'pending', 'labels')} == \
           {k: a[k] for k in ('env_id', 'pairs', 'labeled', 'pending', 'labels')}
    assert b['forked_from'] == 'alpha' and b['reward_model'] is None
    assert len(fork.labels('alpha-2')) == 3  # history too
    for p, q in zip(fork.pairs('alpha'), fork.pairs('alpha-2')):
        assert fork.file_path('alpha-2', q['video']).read_bytes() == fork.file_path('alpha', p['video']).read_bytes()
        assert (fork.segment_arrays(q['left'])['obs'] == fork.segment_arrays(p['left'])['obs']).all()
    # changing the fork changes nothing in the source
    fork.add_label(fork.pairs('alpha-2')[2]['id'], 'tie')
    cli('runs', 'delete', 'alpha-2', '--yes')
    assert _records(Store(store.home), 'alpha') == records and _files(store.run_dir('alpha')) == files

def test_delete_asks_then_deletes(populated):
    store, _ = populated
    assert cli('runs', 'fork', 'alpha', 'gone').returncode == 0
    r = cli('runs', 'delete', 'gone')  # no terminal to ask: refuses
    assert r.returncode == 2 and '--yes' in r.stderr
    assert Store(store.home).get_run('gone')
    r = cli('runs', 'delete', 'gone', '--yes')
    assert r.returncode == 0 and "deleted run 'gone'" in r.stdout
    assert not store.run_dir('gone').exists()
    assert [x['name'] for x in Store(store.home).list_runs()] == ['alpha', 'beta']
    assert not [p for p in (store.home / 'runs').iterdir() if p.name.startswith('.')]

def test_export_json_and_csv(populated, tmp_path):
    store, pairs = populated
    tmp_path = tmp_path / 'exports'; tmp_path.mkdir()
    r = cli('runs', 'export', 'alpha', 'labels.json', cwd=tmp_path)
    assert r.returncode == 0 and 'exported 2 labels' in r.stdout, r.stderr
    data = json.loads((tmp_path / 'labels.json').read_text())
    assert (data['run'], data['env_id']) == ('alpha', 'CartPole-v1')
    assert [(x['pair_id'], x['label'], x['labeler']) for x in data['labels']] == \
           [(pairs[0], 'left', 'human'), (pairs[1], 'unknown', 'teacher:oracle')]
    assert data['labels'][0]['left_return'] == 5.0 and data['labels'][0]['seconds'] == 1.5
    r = cli('runs', 'export', 'alpha', str(tmp_path / 'labels.csv'))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / 'labels.csv')))
    assert [(int(x['pair_id']), x['label']) for x in rows] == [(pairs[0], 'left'), (pairs[1], 'unknown')]
    assert rows[0]['video'] == 'videos/pair_0.mp4' and rows[0]['labeled_at'].endswith('+00:00')
    before = (tmp_path / 'labels.csv').read_bytes()
    r = cli('runs', 'export', 'alpha', 'labels.csv', cwd=tmp_path)  # never overwrites
    assert r.returncode == 2 and 'already exists' in r.stderr
    assert (tmp_path / 'labels.csv').read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['labels.csv', 'labels.json']
