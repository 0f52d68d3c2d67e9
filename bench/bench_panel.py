"""How fast the labeling panel shows the next pair after a click.

Times `LabelingPanel.submit(choice)` until the video widget's value is replaced by the next pair's video (the label is
in the store by then), and until `submit` returns (counts refreshed, the next video read ahead), over many clicks:

- in this process (no front end attached, so no widget message is sent), with the next video read ahead (as the panel
  does) and with the cache emptied before each click (no read-ahead), as a ratio within one run;
- inside a real ipykernel started with jupyter_client, where every widget update is serialized and sent on the
  kernel's iopub channel as it would be to a browser;
- with a store that also holds 2,000 more pairs (another run), since the store rewrites its JSON file on every label.

The panels here click as fast as the machine allows, so they pass `min_seconds=0`: a person's panel refuses a label
within 0.3 s of its pair appearing, which would refuse every click of this benchmark (the refusal check itself costs
nothing measurable). Medians and 95th percentiles, not means: other work on the machine makes outliers. Takes about a
minute.
Writes bench/results/panel.json and prints a table.  Run: .venv/bin/python bench/bench_panel.py [--pairs 60]
"""
import argparse, json, os, platform, statistics, sys, tempfile, textwrap, time
from pathlib import Path

os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'bench' / 'results' / 'panel.json'
CHOICES = ('left', 'right', 'tie', 'unknown')


def _stats(ms):
    ms = sorted(ms)
    return dict(n=len(ms), median_ms=round(statistics.median(ms), 2), p95_ms=round(ms[int(0.95 * (len(ms) - 1))], 2),
                max_ms=round(ms[-1], 2))


def measure(home, name, prefetch=True):
    "Label every pending pair of run `name` by submit(); return (to-video ms list, submit ms list)."
    from rlhf_nb.store import Store
    from rlhf_nb.labeling import LabelingPanel
    panel = LabelingPanel(name, store=Store(Path(home)), poll_seconds=0, min_seconds=0)  # clicks at machine speed
    seen = []
    panel.video.observe(lambda change: seen.append(time.perf_counter()), names='value')
    to_video, total = [], []
    for k in range(10**6):
        if panel.current is None: break
        if not prefetch: panel._cache.clear()
        before = len(seen)
        t0 = time.perf_counter()
        panel.submit(CHOICES[k % 4])
        t1 = time.perf_counter()
        if panel.current is not None and len(seen) > before: to_video.append((seen[before] - t0) * 1000)
        total.append((t1 - t0) * 1000)
    panel.close()
    return to_video, total


def build(home, n_pairs, filler=0):
    "A run 'bench' of `n_pairs` CartPole pairs (and `filler` extra pairs in another run); returns seconds taken."
    from rlhf_nb.store import Store
    from rlhf_nb.clips import collect_pairs
    t = time.perf_counter()
    store = Store(Path(home))
    collect_pairs(store, 'bench', n_pairs=n_pairs, segment_length=25, seed=0)
    if filler:
        collect_pairs(store, 'filler', n_pairs=1, segment_length=25, seed=1)
        p = store.pairs('filler')[0]
        with store.batch():
            for _ in range(filler): store.add_pair('filler', 0, p['left'], p['right'], video=p['video'])
    return time.perf_counter() - t


KERNEL_CODE = """
import json, sys
sys.path.insert(0, {bench!r})
from bench_panel import measure, _stats
v, t = measure({home!r}, 'bench')
print('RESULT' + json.dumps(dict(to_video=_stats(v), submit=_stats(t))))
"""


def in_kernel(home, timeout=300):
    "Run `measure` inside a real ipykernel (widget messages really go out on iopub); returns its stats."
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name='python3', cwd=str(ROOT))
    try:
        out = []
        code = textwrap.dedent(KERNEL_CODE.format(bench=str(ROOT / 'bench'), home=str(home)))
        kc.execute_interactive(code, timeout=timeout,
                               output_hook=lambda m: out.append(m['content'].get('text', '')) if m['msg_type'] == 'stream' else None)
        line = next(l for l in ''.join(out).splitlines() if l.startswith('RESULT'))
        return json.loads(line[len('RESULT'):])
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--pairs', type=int, default=60, help='pairs per measurement (clicks)')
    ap.add_argument('--filler', type=int, default=2000, help='extra pairs in the store for the large-store case')
    args = ap.parse_args()
    import torch; torch.set_num_threads(1)
    rows, res = [], dict(pairs=args.pairs, filler_pairs=args.filler, machine=f'{platform.platform()}, {os.cpu_count()} CPUs')
    with tempfile.TemporaryDirectory() as d:
        homes = {k: Path(d) / k for k in ('warm', 'cold', 'kernel', 'large')}
        for k, h in homes.items(): build(h, args.pairs, filler=args.filler if k == 'large' else 0)
        for case, home, kw in [('in process, next video read ahead', homes['warm'], {}),
                               ('in process, no read-ahead', homes['cold'], dict(prefetch=False)),
                               (f'in process, store with {args.filler} more pairs', homes['large'], {})]:
            v, t = measure(home, 'bench', **kw)
            res[case] = dict(to_video=_stats(v), submit=_stats(t)); rows.append(case)
        try:
            res['in a real ipykernel (messages sent)'] = in_kernel(homes['kernel']); rows.append('in a real ipykernel (messages sent)')
        except Exception as e:  # report, don't hide
            res['in a real ipykernel (messages sent)'] = dict(error=repr(e))
    a, b = res['in process, next video read ahead'], res['in process, no read-ahead']
    res['ratio_no_read_ahead_over_read_ahead_median'] = round(b['to_video']['median_ms'] / a['to_video']['median_ms'], 2)
    res['target_ms'] = 100
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + '\n')
    print(f"{'case':48s} {'click→next video median / p95 (ms)':>36s} {'whole submit median / p95 (ms)':>32s}")
    for r in rows:
        x = res[r]
        print(f"{r:48s} {x['to_video']['median_ms']:>18.1f} / {x['to_video']['p95_ms']:<15.1f} "
              f"{x['submit']['median_ms']:>14.1f} / {x['submit']['p95_ms']:<15.1f}")
    print(f"read-ahead saves: no-read-ahead / read-ahead median = {res['ratio_no_read_ahead_over_read_ahead_median']}")
    print(f'wrote {RESULTS.relative_to(ROOT)}')


if __name__ == '__main__':
    sys.exit(main())
