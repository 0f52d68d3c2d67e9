"""Thirty SIGKILLs in the middle of writes: the store always loads, and every write that had returned is there.

The writer is a forked child (a real process, killed with SIGKILL) that reports each id on a pipe only after the
call that wrote it has returned. Most of its time is spent inside writes, so most kills land mid-write; the test
also checks that some did (a temp file was left behind), and that the next writer cleans such files up. The storage
writes every temp file (the store's and the segment arrays') in the data home itself, where the next writer looks;
the checks search the whole home, so a temp file left anywhere else would fail them.
"""
import json, os, select, signal, time, traceback
from pathlib import Path
import numpy as np
import pytest
from rlhf_nb.store import Store

TRIALS = 30

def _setup(home: Path, prefill: int) -> int:
    store = Store(home)
    store.create_run('crash', 'CartPole-v1')
    with store.batch():
        a = store.add_segment('crash', 0, dict(obs=np.zeros((5, 4), np.float32)))
        b = store.add_segment('crash', 0, dict(obs=np.ones((5, 4), np.float32)))
        pair = store.add_pair('crash', 0, a, b)
        for i in range(prefill): store.add_label(pair, 'left', labeler='prefill')  # a bigger file: longer writes
    return pair

def _writer(home: Path, pair: int, fd: int):
    "Write forever; report each id only after its write returned."
    store = Store(home)
    os.write(fd, b'ready\n')
    i = 0
    while True:
        i += 1
        if i % 5 == 0:  # a batch: two .npz files, a pair and a label in one write
            with store.batch():
                a = store.add_segment('crash', 1, dict(obs=np.full((5, 4), i, np.float32)))
                b = store.add_segment('crash', 1, dict(obs=np.full((5, 4), -i, np.float32)))
                p = store.add_pair('crash', 1, a, b)
                l = store.add_label(p, 'right')
            os.write(fd, b'P %d %d\n' % (p, l))
        else:
            os.write(fd, b'L %d\n' % store.add_label(pair, ('left', 'right', 'tie', 'unknown')[i % 4]))

def _read_all(fd: int, until: float | None = None) -> bytes:
    "Read the pipe until EOF, or until the first line when `until` (a deadline) is given."
    data = b''
    while True:
        if until is not None:
            if b'\n' in data: return data
            r, _, _ = select.select([fd], [], [], max(0.0, until - time.time()))
            if not r: raise TimeoutError('writer did not start')
        chunk = os.read(fd, 65536)
        if not chunk: return data
        data += chunk

@pytest.mark.timeout(120)
def test_sigkill_during_writes(tmp_path):
    rng = np.random.default_rng(0)
    mid_write, trial = 0, -1
    while (trial := trial + 1) < TRIALS or (mid_write == 0 and trial < 3 * TRIALS):  # 30, more if none hit a write
        home = tmp_path / f'trial{trial}'
        pair = _setup(home, prefill=(0, 300, 3000)[trial % 3])
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            os.close(r)
            try: _writer(home, pair, w)
            except BaseException: traceback.print_exc()
            finally: os._exit(1)
        os.close(w)
        status = None
        try:
            data = _read_all(r, until=time.time() + 30)
            time.sleep(rng.uniform(0.005, 0.2))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            data += _read_all(r)
        finally:
            os.close(r)
            if status is None:  # something failed before the kill: do not leave the writer running
                os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f'trial {trial}: the writer died on its own'
        lines = [l.split() for l in data.decode().split('\n')[1:-1]]  # only complete lines: writes that returned
        mid_write += any(home.rglob('*.tmp'))

        store = Store(home)  # loads, whatever moment the kill hit
        labels = {l['id'] for l in store.labels('crash')}
        pairs = {p['id']: p for p in store.pairs('crash')}
        for line in lines:
            if line[0] == 'L': assert int(line[1]) in labels, f'trial {trial}: label {line[1]} was lost'
            else:
                p, l = int(line[1]), int(line[2])
                assert p in pairs and l in labels, f'trial {trial}: batch (pair {p}, label {l}) was lost'
        for p in pairs.values():  # no record names a file that is missing
            for s in (p['left'], p['right']): assert store.segment_arrays(s)['obs'].shape == (5, 4)
        json.loads(store.path.read_bytes())  # one valid JSON document
        store.add_label(pair, 'tie')  # the lock was released by the kill; the next write cleans temp files up
        assert not [str(p) for p in home.rglob('*.tmp')]
        assert len(store.labels('crash')) >= len(labels) + 1
    assert mid_write >= 1, 'no kill landed in the middle of a write: the test did not test anything'
    print(f'{mid_write} of {trial} kills landed mid-write (temp file left behind)')
