"""A store file that cannot be read stops everything with one line naming it, and is never overwritten."""
import json, subprocess
from pathlib import Path
import numpy as np
import pytest
from conftest import tool
from rlhf_nb.core import UserError
from rlhf_nb.store import Store

def _valid_store(home: Path) -> bytes:
    s = Store(home)
    s.create_run('r', 'CartPole-v1')
    a = s.add_segment('r', 0, dict(obs=np.zeros((3, 4), np.float32)))
    b = s.add_segment('r', 0, dict(obs=np.ones((3, 4), np.float32)))
    s.add_label(s.add_pair('r', 0, a, b), 'left')
    return s.path.read_bytes()

def _cases(good: bytes) -> dict[str, tuple[bytes, str]]:
    lines = good.split(b'\n')
    bad_line = b'\n'.join(lines[:3] + [lines[3][:len(lines[3]) // 2] + b'},'] + lines[4:])
    return {
        'truncated': (good[:len(good) // 2], 'not valid JSON'),
        'garbage': (b'\x00\xff\xfe not json at all', 'not valid JSON'),
        'empty': (b'', 'empty'),
        'plain TinyDB': (b'{"_default": {"1": {"name": "x"}}}', 'header'),
        'a list': (b'[1, 2, 3]', 'header'),
        'newer format': (b'{"_rlhf_nb":{"1":{"format":"rlhf_nb-store","version":99}}}', 'newer'),
        'a table cut in half': (bad_line, 'not valid JSON'),
        'records not objects': (good.replace(b'"runs":{"1":{', b'"runs":{"1":[{', 1).replace(b'}},\n"segments"', b'}]},\n"segments"', 1), 'not a TinyDB table'),
    }

@pytest.mark.parametrize('case', ['truncated', 'garbage', 'empty', 'plain TinyDB', 'a list', 'newer format',
                                  'a table cut in half', 'records not objects'])
def test_unreadable_store_is_named_and_left_alone(home, case):
    good = _valid_store(home)
    bad, why = _cases(good)[case]
    path = home / 'rlhf_nb.json'
    path.write_bytes(bad)
    store = Store(home)
    calls = [store.list_runs, lambda: store.summary('r'), lambda: store.create_run('other', 'CartPole-v1'),
             lambda: store.add_label(1, 'left'), lambda: store.ensure_run('r'), lambda: store.delete_run('r'),
             lambda: store.fork_run('r', 'r2'), lambda: store.export_run('r', home.parent / 'x.json')]
    for call in calls:
        with pytest.raises(UserError) as e: call()
        msg = str(e.value)
        assert str(path) in msg and why in msg and '\n' not in msg, msg
    assert path.read_bytes() == bad  # never overwritten
    assert not list(home.rglob('*.tmp'))
    assert not (home.parent / 'x.json').exists() and (home / 'runs' / 'r').exists()  # and nothing else touched

def test_a_store_that_was_readable_and_then_got_corrupted(home):
    "A Store object already holding the data in memory must not write it over a file someone broke since."
    good = _valid_store(home)
    store = Store(home)
    assert store.summary('r')['labeled'] == 1
    (home / 'rlhf_nb.json').write_bytes(good[:100])
    with pytest.raises(UserError, match='not valid JSON'): store.add_label(1, 'right')
    assert (home / 'rlhf_nb.json').read_bytes() == good[:100]

@pytest.mark.parametrize('args', [['runs', 'list'], ['runs', 'show', 'r', '--json'], ['runs', 'delete', 'r', '--yes'],
                                  ['runs', 'fork', 'r', 'r2'], ['runs', 'export', 'r', 'out.csv']])
def test_cli_reports_a_corrupt_store_in_one_line(home, tmp_path, args):
    _valid_store(home)
    path = home / 'rlhf_nb.json'
    bad = b'{"runs": {"1": {"name": "r", "env'
    path.write_bytes(bad)
    r = subprocess.run([tool('rlhf-nb')] + args, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ''
    lines = r.stderr.strip().split('\n')
    assert len(lines) == 1 and str(path) in lines[0] and 'not valid JSON' in lines[0], r.stderr
    assert path.read_bytes() == bad
    assert not (tmp_path / 'out.csv').exists()
