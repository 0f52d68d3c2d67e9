"""Background video encoding across a process's life: a script that ends right after `collect_pairs(background=True)`
still leaves every video written (atexit), and a process killed outright mid-encoding leaves no half-written video."""
import os, signal, subprocess, sys, time
from pathlib import Path

from rlhf_nb.video import read_video
from rlhf_nb.store import Store

SCRIPT = """
import sys, time
from pathlib import Path
from rlhf_nb.clips import collect_pairs
from rlhf_nb.store import Store
collect_pairs(Store(Path(sys.argv[1])), 'bg', n_pairs=int(sys.argv[2]), segment_length=20, seed=0, background=True)
print('queued', flush=True)
if sys.argv[3] == 'linger': time.sleep(120)
"""


def _videos(home):
    store = Store(home)
    run = store.run_dir('bg')
    return [run / p[k] for p in store.pairs('bg') for k in ('video', 'left_video', 'right_video')]


def test_videos_are_written_before_the_process_exits(tmp_path):
    r = subprocess.run([sys.executable, '-c', SCRIPT, str(tmp_path), '10', 'exit'], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and 'queued' in r.stdout, r.stderr
    videos = _videos(tmp_path)
    assert len(videos) == 30
    for v in videos: assert read_video(v).shape[0] == 20, v


def test_a_killed_process_leaves_no_half_written_video(tmp_path):
    p = subprocess.Popen([sys.executable, '-c', SCRIPT, str(tmp_path), '40', 'linger'], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == 'queued'  # all 40 pairs stored, their videos being encoded
        time.sleep(0.3)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    videos = _videos(tmp_path)
    assert len(videos) == 120  # every record was stored before the kill
    written = [v for v in videos if v.exists()]
    assert len(written) < len(videos), 'the kill came too late to test anything'
    for v in written: assert read_video(v).shape[0] == 20, v  # each video there is whole
