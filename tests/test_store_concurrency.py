"""Several processes writing to one store at once lose nothing (issue 4: four processes, 250 labels each)."""
import json, subprocess, sys, textwrap, time
from pathlib import Path
import numpy as np
from rlhf_nb.store import Store

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rlhf_nb.store import Store
    home, who, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = Store(home)
    pairs = [p['id'] for p in store.pairs('shared')]
    while not go.exists(): time.sleep(0.005)  # start together
    for i in range(n):
        store.add_label(pairs[i % len(pairs)], ('left', 'right', 'tie', 'unknown')[i % 4], labeler=who, seconds=0.1)
""")

def _setup(home: Path, n_pairs: int = 8):
    store = Store(home)
    store.create_run('shared', 'CartPole-v1')
    with store.batch():
        segs = [store.add_segment('shared', 0, dict(obs=np.full((5, 4), i, np.float32))) for i in range(2 * n_pairs)]
        return store, [store.add_pair('shared', 0, segs[2 * i], segs[2 * i + 1]) for i in range(n_pairs)]

def test_four_processes_250_labels_each(home):
    store, pairs = _setup(home)
    go = home.parent / 'go'
    procs = [subprocess.Popen([sys.executable, '-c', WRITER, str(home), f'proc{k}', '250', str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    time.sleep(0.3); go.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    labels = store.labels('shared')
    assert len(labels) == 1000
    assert len({l['id'] for l in labels}) == 1000
    for k in range(4): assert sum(l['labeler'] == f'proc{k}' for l in labels) == 250
    doc = json.loads(store.path.read_bytes())  # the file is one valid JSON document
    assert len(doc['labels']) == 1000 and doc['_rlhf_nb']['1']['format'] == 'rlhf_nb-store'
    assert sorted(str(p) for p in home.rglob('*.tmp')) == []
    # a fresh reader sees the same, and the counts add up
    s = Store(home).summary('shared')
    assert s['pairs'] == 8 and s['labeled'] == 8 and s['pending'] == 0

def test_processes_writing_different_records_at_once(home):
    "Labels, new pairs (with their .npz files) and run updates from three processes at once: all kept."
    store, pairs = _setup(home, n_pairs=2)
    code = textwrap.dedent("""
        import sys, numpy as np
        from pathlib import Path
        from rlhf_nb.store import Store
        store, kind = Store(Path(sys.argv[1])), sys.argv[2]
        for i in range(40):
            if kind == 'pairs':
                with store.batch():
                    a = store.add_segment('shared', 1, dict(obs=np.full((5, 4), i, np.float32)))
                    b = store.add_segment('shared', 1, dict(obs=np.full((5, 4), -i, np.float32)))
                    store.add_pair('shared', 1, a, b)
            elif kind == 'labels': store.add_label(store.pairs('shared')[0]['id'], 'left')
            else: store.update_run('shared', env_steps=i + 1)
    """)
    procs = [subprocess.Popen([sys.executable, '-c', code, str(home), kind], stderr=subprocess.PIPE, text=True)
             for kind in ('pairs', 'labels', 'run')]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = Store(home)
    assert len(store.pairs('shared', iteration=1)) == 40
    assert len(store.labels('shared')) == 40
    assert store.get_run('shared')['env_steps'] == 40
    for p in store.pairs('shared', iteration=1):
        assert store.segment_arrays(p['left'])['obs'].shape == (5, 4)
