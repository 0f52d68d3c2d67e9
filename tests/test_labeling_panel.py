"""The labeling panel without a browser: every button and key against the store, the background poller seeing pairs
and labels written by other processes, and a new panel (a kernel restart) continuing where the last one stopped.
The panels here answer at once, so they pass `min_seconds=0` (a person's panel refuses a label within 0.3 s of its
pair appearing); `test_refusal_window_in_real_time` keeps the default."""
import subprocess, sys, time
import pytest
from rlhf_nb.store import Store
from rlhf_nb.clips import collect_pairs
from rlhf_nb.labeling import LabelingPanel


def _until(pred, timeout, what):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end: pytest.fail(f'timed out after {timeout} s waiting for {what}')
        time.sleep(0.05)


@pytest.fixture
def run(home):
    store = Store(home)
    ids = collect_pairs(store, 'panel', n_pairs=8, segment_length=12, seed=0)
    return store, ids


def _label(store, pair_id):
    lab = store.latest_label(pair_id)
    return None if lab is None else lab['label']


def test_buttons_and_keys_reach_the_store(run):
    store, ids = run
    p = LabelingPanel('panel', store=store, labeler='alice', poll_seconds=0, min_seconds=0)
    expect = {}
    # Each of the four buttons, by its text, labels the pair on screen.
    for choice in ('Left', 'Right', 'Tie', 'Unknown'):
        button = next(b for b in p.buttons.values() if b.description.startswith(choice))
        shown = p.current['id']
        button.click()
        expect[shown] = choice.lower()
        assert {i: _label(store, i) for i in expect} == expect
        assert p.current['id'] != shown
    # The keys: both spellings of left, right and tie.
    for key, choice in [('1', 'left'), ('ArrowRight', 'right'), (' ', 'tie')]:
        shown = p.current['id']
        assert p.handle_key({'type': 'keydown', 'key': key}) == choice
        expect[shown] = choice
        assert _label(store, shown) == choice
    labels = [l for l in store.labels('panel') if not l['undone']]
    assert {l['labeler'] for l in labels} == {'alice'}
    assert all(l['seconds'] is not None and l['seconds'] >= 0 for l in labels)
    # Undo by key: the latest label is undone in the store (history kept) and its pair is back on screen.
    last = max(labels, key=lambda l: l['id'])
    assert p.handle_key({'key': 'Backspace'}) == 'undo'
    assert _label(store, last['pair']) is None
    assert [l for l in store.labels('panel') if l['id'] == last['id']][0]['undone']
    assert p.current['id'] == last['pair']
    # Skip: nothing stored, the pair comes back after the others.
    skipped = p.current['id']
    assert p.handle_key({'key': 's'}) == 'skip'
    assert _label(store, skipped) is None and p.current['id'] != skipped
    assert p.handle_key({'key': 'u'}) == 'unknown'
    assert p.current['id'] == skipped  # the only one left
    s = store.summary('panel')
    assert (p.progress.value, p.progress.max) == (s['pairs'] - s['pending'], s['pairs']) == (7, 8)
    assert f"<b>7 of 8</b> labeled · 1 remaining" in p.status.value
    assert p.handle_key({'key': 'ArrowLeft'}) == 'left'
    assert _label(store, skipped) == 'left'
    assert p.current is None and store.pending_pairs('panel') == []
    assert 'All 8 pairs are labeled' in p.notice.value
    assert p.submit('left') is None  # nothing on screen: nothing stored
    assert len(store.labels('panel')) == 9  # 8 current + the undone one, kept as history
    p.close()


def test_a_new_panel_continues_and_undoes_the_old_ones_label(run):
    store, ids = run
    a = LabelingPanel('panel', store=store, poll_seconds=0, min_seconds=0)
    a.submit('left'); a.submit('right')
    a.close()  # as if the kernel restarted: nothing lived only in the widget
    b = LabelingPanel('panel', store=store, poll_seconds=0, min_seconds=0)
    assert b.current['id'] == ids[2]
    assert (b.progress.value, b.progress.max) == (2, 8)
    b.submit('undo')
    assert _label(store, ids[1]) is None and _label(store, ids[0]) == 'left'
    assert b.current['id'] == ids[1]
    # Another labeler's labels are not this labeler's to undo.
    c = LabelingPanel('panel', store=store, labeler='bob', poll_seconds=0, min_seconds=0)
    c.submit('undo')
    assert 'Nothing to undo' in c.messages[-1]
    assert _label(store, ids[0]) == 'left'
    b.close(); c.close()


def test_seconds_on_screen_are_stored(run):
    store, ids = run
    p = LabelingPanel('panel', store=store, poll_seconds=0, min_seconds=0)
    time.sleep(0.3)
    p.submit('left')
    assert 0.3 <= store.latest_label(ids[0])['seconds'] < 5
    p.close()


def test_refusal_window_in_real_time(run):
    "With the default window, a label within 0.3 s of its pair is refused (nothing stored, a note shown); later it is taken."
    store, ids = run
    p = LabelingPanel('panel', store=store, poll_seconds=0)
    assert p.min_seconds == 0.3
    assert p.submit('left') is None and p.handle_key({'key': '2'}) == 'right'  # both at once: refused
    assert store.labels('panel') == [] and p.current['id'] == ids[0]
    assert p.messages and all(m.startswith('Not stored: ') for m in p.messages) and len(p.out.outputs) == 2
    time.sleep(0.31)
    assert p.submit('left') is not None
    assert _label(store, ids[0]) == 'left' and p.current['id'] == ids[1]
    assert p.messages == [] and p.out.outputs == ()  # the notes were about the last pair
    assert p.submit('right') is None  # the next pair just appeared
    assert _label(store, ids[1]) is None
    p.close()


COLLECT = ("import sys; from pathlib import Path; from rlhf_nb.store import Store; from rlhf_nb.clips import collect_pairs;"
           "collect_pairs(Store(Path(sys.argv[1])), 'live', n_pairs=2, segment_length=12, seed=7)")
ORACLE = ("import sys; from pathlib import Path; from rlhf_nb.store import Store;"
          "from rlhf_nb.teachers import make_teacher, label_pending;"
          "label_pending(Store(Path(sys.argv[1])), 'live', make_teacher('oracle'), limit=1)")


def test_poller_sees_other_processes(home):
    "Pairs added and labels given by other processes show up on the panel by themselves, without a refresh."
    store = Store(home)
    store.create_run('live', 'CartPole-v1')
    p = LabelingPanel('live', store=store, poll_seconds=0.2, min_seconds=0)
    assert p.current is None and 'no pairs yet' in p.notice.value
    p.start_polling()
    try:
        subprocess.run([sys.executable, '-c', COLLECT, str(home)], check=True, timeout=120)
        _until(lambda: p.current is not None, 10, 'the poller to show a new pair')
        first = p.current['id']
        _until(lambda: '<b>0 of 2</b> labeled' in p.status.value, 10, 'the counts to include the new pairs')
        # The oracle, in another process, labels the pair on screen: the panel moves on by itself.
        subprocess.run([sys.executable, '-c', ORACLE, str(home)], check=True, timeout=120)
        _until(lambda: p.current is not None and p.current['id'] != first, 10, 'the panel to move on')
        assert any('labeled elsewhere' in m for m in p.messages)
        p.submit('right')
        _until(lambda: '<b>2 of 2</b> labeled' in p.status.value, 10, 'the counts to reach 2 of 2')
        assert p.current is None
        assert {l['labeler'] for l in store.labels('live')} == {'teacher:oracle', 'human'}
    finally:
        p.close()
    assert not p._poller.is_alive() or (p._poller.join(2) or not p._poller.is_alive())
