"""Damaged files beside the store, injected for real (cut short, filled with zeros, deleted), in each kind of file a run
reads: segment arrays, videos, reward models, policy checkpoints, logs. Every command says which file in one line and
exits with 2, or goes on from the previous checkpoint saying so; `runs check` finds each damaged file; `--repair` makes
`pretrain` and `train` work again on what is intact, and every label stays in the store and in `runs export --history`.

One small run (CartPole, 2,048 env steps, two rounds, videos on) is prepared once; each case damages a copy of it."""
import json, shutil, threading
from pathlib import Path
import pytest
from conftest import one_line_error, rlhf_nb

NAME = 'r'
DAMAGES = ('truncate', 'zeros', 'delete')


@pytest.fixture(scope='module')
def prepared(tmp_path_factory) -> Path:
    "A data home root holding run 'r': 12 labeled pairs, 2 reward models, checkpoints at 1,024 and 2,048 steps, 2 pending pairs."
    from rlhf_nb.store import Store
    from rlhf_nb.rlhf import RLHF, RLHFConfig
    from rlhf_nb.clips import collect_pairs
    root = tmp_path_factory.mktemp('prepared')
    store = Store(root / 'test')
    cfg = RLHFConfig(teacher='oracle', total_timesteps=2048, round_steps=1024, label_budget=12, pretrain_pairs=8,
                     eval_every=2048, eval_episodes=2, target_return=None, videos=True, reward_train={'n_members': 1})
    RLHF(NAME, cfg, store=store, progress=False).run()
    collect_pairs(store, NAME, n_pairs=2, seed=9, iteration=2)  # two pairs waiting for labels, with their videos
    d = store.run_dir(NAME)
    assert [m['file'] for m in store.models(NAME, 'reward')] == ['models/reward-iter000.pt', 'models/reward-iter001.pt']
    assert (d / 'checkpoints' / 'ppo.pt').exists() and (d / 'checkpoints' / 'ppo.prev.pt').exists()
    assert len(store.labeled_pairs(NAME, include_unknown=True)) == 12 and len(store.pending_pairs(NAME)) == 2
    return root


@pytest.fixture
def run(prepared, tmp_path):
    "A fresh copy of the prepared data home: (root for RLHF_NB_HOME, its Store, the run folder)."
    from rlhf_nb.store import Store
    root = tmp_path / 'home'
    shutil.copytree(prepared, root)
    store = Store(root / 'test')
    return root, store, store.run_dir(NAME)


def damage(path: Path, how: str):
    "Cut `path` short (mid-line for a log), fill it with zeros, or delete it."
    if how == 'truncate': path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif how == 'zeros': path.write_bytes(bytes(path.stat().st_size))
    elif how == 'delete': path.unlink()
    else: raise ValueError(how)


def state_word(how): return 'missing' if how == 'delete' else 'damaged'


def notes(r, text):
    "The lines of stderr that contain `text` (progress bars' carriage returns split lines too)."
    return [l for l in r.stderr.replace('\r', '\n').splitlines() if text in l]


def weights(path):
    from rlhf_nb.store import read_weights
    return read_weights(path)


def all_labels(store):
    return sorted(l['id'] for l in store.labels(NAME))


def exported_labels(root, tmp_path):
    "Label ids in `runs export --history` (the real command)."
    out = tmp_path / 'history.json'
    r = rlhf_nb('runs', 'export', NAME, str(out), '--history', '--force', home=root)
    assert r.returncode == 0, r.stderr
    return sorted(row['label_id'] for row in json.loads(out.read_text())['labels'])


@pytest.mark.parametrize('how', DAMAGES)
def test_every_command_one_line(run, tmp_path, how):
    "Each command that reads a damaged file stops with one line naming it; commands that do not read it still work."
    root, store, d = run
    labeled_seg = d / store.segment(store.labeled_pairs(NAME)[0][0]['left'])['file']
    pending_seg = d / store.segment(store.pending_pairs(NAME)[0]['left'])['file']
    ckpt, prev = d / 'checkpoints' / 'ppo.pt', d / 'checkpoints' / 'ppo.prev.pt'
    rewards = [d / m['file'] for m in store.models(NAME, 'reward')]
    damaged = (labeled_seg, pending_seg, ckpt, prev, *rewards)
    for f in damaged: damage(f, how)
    before, labels = {f: f.read_bytes() for f in damaged if f.exists()}, all_labels(store)
    words = lambda f: (f"run '{NAME}'", str(f), f"is {state_word(how)}", f'rlhf-nb runs check {NAME}')

    one_line_error(rlhf_nb('pretrain', '--name', NAME, home=root), *words(labeled_seg))
    one_line_error(rlhf_nb('label', '--name', NAME, '--teacher', 'oracle', home=root), *words(pending_seg))
    one_line_error(rlhf_nb('eval', '--name', NAME, '--episodes', '1', home=root), *words(ckpt), 'no earlier one is intact (ppo.prev.pt)')
    one_line_error(rlhf_nb('train', '--name', NAME, '--total-timesteps', '3072', home=root), *words(rewards[-1]),
                   'no earlier one is intact (reward-iter000.pt)')
    show = rlhf_nb('runs', 'show', NAME, '--json', home=root)  # reads no file of the run: works as before
    assert show.returncode == 0 and json.loads(show.stdout)['labeled'] == 12, show.stderr
    assert exported_labels(root, tmp_path) == labels == all_labels(store)
    assert {f: f.read_bytes() for f in damaged if f.exists()} == before  # nothing overwritten, nothing written in their place


@pytest.mark.parametrize('how', DAMAGES)
def test_resume_goes_on_from_previous(run, how):
    "A damaged latest policy checkpoint and reward model: `eval` and `train` say so in one line each and go on from the previous."
    root, store, d = run
    ckpt, prev = d / 'checkpoints' / 'ppo.pt', d / 'checkpoints' / 'ppo.prev.pt'
    assert weights(prev)['global_step'] == 1024
    damage(ckpt, how)
    damage(d / 'models' / 'reward-iter001.pt', how)
    if how == 'delete': damage(d / 'metrics.jsonl', how)  # a log is made on demand: a deleted one is no problem

    e = rlhf_nb('eval', '--name', NAME, '--episodes', '1', '--json', home=root)
    assert e.returncode == 0, e.stderr
    assert json.loads(e.stdout)['env_steps'] == 1024
    line, = e.stderr.strip().splitlines()
    assert line.startswith(f"run '{NAME}': the policy checkpoint {ckpt} is {state_word(how)}"), line
    assert line.endswith('going on from the previous one, ppo.prev.pt (env step 1,024)'), line

    t = rlhf_nb('train', '--name', NAME, '--total-timesteps', '3072', home=root)
    assert t.returncode == 0, t.stderr[-3000:]
    assert len(notes(t, 'going on from the previous one, reward-iter000.pt (round 0')) == 1, t.stderr[-3000:]
    assert len(notes(t, 'going on from the previous one, ppo.prev.pt (env step 1,024)')) == 1, t.stderr[-3000:]
    assert 'Traceback' not in t.stderr
    assert json.loads(rlhf_nb('runs', 'show', NAME, '--json', home=root).stdout)['env_steps'] == 3072
    assert weights(ckpt)['global_step'] == 3072 and weights(prev)['global_step'] == 2048  # the damaged one was never kept
    again = rlhf_nb('eval', '--name', NAME, '--episodes', '1', '--json', home=root)
    assert again.returncode == 0 and again.stderr.strip() == '' and json.loads(again.stdout)['env_steps'] == 3072
    assert (d / 'metrics.jsonl').exists()


def test_check_finds_each_damaged_file_and_repair_starts_over(run, tmp_path):
    """Every kind of file, every kind of damage, no checkpoint left intact: `runs check` lists exactly those files;
    `--repair` sets aside what it must, and `pretrain` and `train` then work (PPO from step 0), every label kept."""
    root, store, d = run
    clean = rlhf_nb('runs', 'check', NAME, home=root)
    assert clean.returncode == 0 and clean.stdout.strip().endswith('no missing or damaged files'), clean.stdout + clean.stderr
    labeled = [p for p, _ in store.labeled_pairs(NAME, include_unknown=True)]
    seg = lambda p, side: store.segment(p[side])['file']
    injected = {  # file -> (kind, damage), each in a different pair
        seg(labeled[0], 'left'): ('segment', 'truncate'), seg(labeled[1], 'right'): ('segment', 'zeros'),
        seg(store.pending_pairs(NAME)[0], 'left'): ('segment', 'delete'),
        labeled[2]['video']: ('video', 'truncate'), labeled[3]['left_video']: ('video', 'zeros'),
        labeled[4]['video']: ('video', 'delete'),
        'models/reward-iter000.pt': ('reward', 'delete'), 'models/reward-iter001.pt': ('reward', 'zeros'),
        'checkpoints/ppo.pt': ('policy', 'delete'), 'checkpoints/ppo.prev.pt': ('policy', 'truncate'),  # (a spare: no prev is no problem)
        'metrics.jsonl': ('log', 'truncate'), 'evals.jsonl': ('log', 'zeros')}
    for f, (_, how) in injected.items(): damage(d / f, how)
    labels = all_labels(store)

    r = rlhf_nb('runs', 'check', NAME, '--json', home=root)
    assert r.returncode == 1, r.stdout + r.stderr
    found = json.loads(r.stdout)
    assert {p['file']: (p['kind'], p['state']) for p in found['problems']} == \
        {f: (kind, state_word(how)) for f, (kind, how) in injected.items()}
    assert all(p['error'] for p in found['problems'])
    for kind in ('segment', 'video', 'reward', 'policy', 'log'):
        assert found['files'][kind]['missing'] + found['files'][kind]['damaged'] == sum(k == kind for k, _ in injected.values())
    text = rlhf_nb('runs', 'check', NAME, home=root)
    assert text.returncode == 1 and all(f in text.stdout for f in injected), text.stdout
    assert '--repair' in text.stdout.splitlines()[-1]

    fix = rlhf_nb('runs', 'check', NAME, '--repair', home=root)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert 'train` starts PPO again from step 0' in fix.stdout, fix.stdout
    assert rlhf_nb('runs', 'check', NAME, home=root).returncode == 0
    aside = [p for p in store.pairs(NAME, include_set_aside=True) if p.get('set_aside')]
    assert len(aside) >= 6 and all(p['id'] not in {q['id'] for q in store.pending_pairs(NAME)} for p in aside)
    assert not {p['id'] for p in aside} & {p['id'] for p, _ in store.labeled_pairs(NAME, include_unknown=True)}
    assert (d / 'metrics.jsonl.damaged').exists() and (d / 'checkpoints' / 'ppo.prev.damaged.pt').exists()

    p = rlhf_nb('pretrain', '--name', NAME, home=root)
    assert p.returncode == 0, p.stderr
    t = rlhf_nb('train', '--name', NAME, '--total-timesteps', '2048', home=root)  # PPO from step 0 again
    assert t.returncode == 0, t.stderr[-3000:]
    assert json.loads(rlhf_nb('runs', 'show', NAME, '--json', home=root).stdout)['env_steps'] == 2048
    assert set(labels) <= set(all_labels(store))  # every label is still there (train added new ones)
    assert set(labels) <= set(exported_labels(root, tmp_path))
    assert rlhf_nb('runs', 'check', NAME, home=root).returncode == 0


def test_repair_keeps_what_is_intact(run, tmp_path):
    """Damaged clips, the latest reward model and the latest checkpoint: `--repair` sets the pairs aside and goes back to the
    previous model and checkpoint; then `pretrain` and `train` work without a word about damage, every label kept."""
    root, store, d = run
    pair = store.labeled_pairs(NAME)[0][0]
    damage(d / store.segment(pair['left'])['file'], 'truncate')
    damage(d / store.pending_pairs(NAME)[0]['video'], 'delete')
    damage(d / 'models' / 'reward-iter001.pt', 'zeros')
    damage(d / 'checkpoints' / 'ppo.pt', 'truncate')
    labels = all_labels(store)
    one_line_error(rlhf_nb('pretrain', '--name', NAME, home=root), 'segments/')

    fix = rlhf_nb('runs', 'check', NAME, '--repair', '--json', home=root)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    result = json.loads(fix.stdout)
    assert len(result['problems']) == 4 and result['left'] == [] and len(result['repaired']) == 3, result
    assert weights(d / 'checkpoints' / 'ppo.pt')['global_step'] == 1024 and not (d / 'models' / 'reward-iter001.pt').exists()
    assert store.pair(pair['id'])['set_aside'].startswith('its segment')
    assert pair['id'] not in {p['id'] for p, _ in store.labeled_pairs(NAME)}

    p = rlhf_nb('pretrain', '--name', NAME, home=root)
    assert p.returncode == 0 and 'Traceback' not in p.stderr, p.stderr
    t = rlhf_nb('train', '--name', NAME, '--total-timesteps', '3072', home=root)
    assert t.returncode == 0, t.stderr[-3000:]
    assert not notes(t, 'damaged') and not notes(t, 'missing'), t.stderr[-3000:]
    assert json.loads(rlhf_nb('runs', 'show', NAME, '--json', home=root).stdout)['env_steps'] == 3072
    assert set(labels) <= set(all_labels(store)) and set(labels) <= set(exported_labels(root, tmp_path))


def test_damaged_log(run):
    "A metrics log cut short stops a resume with one line; `--repair` keeps its whole lines, and the run goes on."
    root, store, d = run
    log = d / 'metrics.jsonl'
    damage(log, 'truncate')
    before = log.read_bytes()
    one_line_error(rlhf_nb('train', '--name', NAME, '--total-timesteps', '3072', home=root), str(log), 'is damaged')
    assert log.read_bytes() == before  # left as it was
    fix = rlhf_nb('runs', 'check', NAME, '--repair', home=root)
    assert fix.returncode == 0 and (d / 'metrics.jsonl.damaged').read_bytes() == before, fix.stdout + fix.stderr
    t = rlhf_nb('train', '--name', NAME, '--total-timesteps', '3072', home=root)
    assert t.returncode == 0, t.stderr[-3000:]


def test_check_user_errors(run):
    root, store, d = run
    one_line_error(rlhf_nb('runs', 'check', 'nobody', home=root), "no run named 'nobody'")
    one_line_error(rlhf_nb('runs', 'check', '../x', home=root), 'invalid run name')
    import os, socket
    store.update_run(NAME, phase=dict(state='training', what='policy', env_step=512, pid=os.getpid(), host=socket.gethostname()))
    one_line_error(rlhf_nb('runs', 'check', NAME, '--repair', home=root), 'stop its loop before repairing it')
    r = rlhf_nb('runs', 'check', NAME, home=root)  # a check alone is fine while it runs
    assert r.returncode == 0 and 'its loop is running' in r.stdout, r.stdout


@pytest.mark.parametrize('how', DAMAGES)
def test_panel_tells_missing_and_damaged_from_encoding(run, how):
    "A pending pair's video: being encoded while a video job writes it; else missing or damaged, with skip offered."
    from rlhf_nb.labeling import LabelingPanel
    from rlhf_nb.video import queue_video_job, wait_for_videos
    root, store, d = run
    pair = store.pending_pairs(NAME)[0]
    video = d / pair['video']
    whole = video.read_bytes()
    damage(video, how)
    panel = LabelingPanel(NAME, store=store, poll_seconds=0, keyboard=False, min_seconds=0)
    try:
        assert panel.current['id'] == pair['id']
        assert panel._media == state_word(how), panel._media
        assert f'video file is {state_word(how)}' in panel.notice.value and 'being encoded' not in panel.notice.value
        assert f'runs check {NAME} --repair' in panel.notice.value and not panel.skip_button.disabled
        if how == 'delete':  # the same missing file, while a job of the video worker writes it: on its way
            gate = threading.Event()
            queue_video_job(gate.wait, paths=[video])
            panel.poll()
            assert panel._media == 'encoding' and 'video being encoded' in panel.notice.value
            video.write_bytes(whole); gate.set(); wait_for_videos()
            panel.poll()
            assert panel._media == '' and bytes(panel.video.value) == whole
    finally: panel.close()
