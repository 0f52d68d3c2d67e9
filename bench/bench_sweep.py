"""The same grid of RLHF runs one after another in this process and as a sweep on a local Ray: wall time, and
whether every cell's results are identical (same seeds, same settings -> same evaluations and final return).

The grid is CartPole with the oracle teacher, label budgets x seeds (8 runs by default), each run the whole
`--steps` budget. Serial: `sweep.run_cell` of each cell in turn, in this process, after one untimed warm-up run
(so it does not pay the first imports). Ray: `sweep.sweep`, timed whole as a user waits for it: Ray's start, the
workers' first imports, the cells, the tables and figure, Ray's shutdown. Both give each run one torch thread.

    .venv/bin/python bench/bench_sweep.py [--seeds 4] [--budgets 20,50] [--steps 60000] [--num-cpus N]
Writes bench/results/sweep.json and prints a table. Run it on a quiet machine: another process's load falls on
both sides, but not equally (the serial side uses one core, the sweep all of them).
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

from rlhf_nb.core import atomic_write
from rlhf_nb.sweep import make_spec, run_cell, sweep, sweep_cells


def loadavg():
    try: return Path('/proc/loadavg').read_text().split()[:3]
    except OSError: return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, default=4)
    p.add_argument('--budgets', default='20,50', help='label budgets (the grid)')
    p.add_argument('--steps', type=int, default=60_000, help="env steps of PPO per run (bench_feedback.py's budget)")
    p.add_argument('--eval-every', type=int, default=10_000)
    p.add_argument('--num-cpus', type=int, default=None, help="Ray's CPUs (default: this machine's cores)")
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'sweep.json'))
    args = p.parse_args()
    grid = {'label_budget': [int(b) for b in args.budgets.split(',')]}
    options = dict(total_timesteps=args.steps, eval_every=args.eval_every)
    cells = sweep_cells(make_spec(grid, args.seeds, **options))
    cores, load_before = args.num_cpus or len(os.sched_getaffinity(0)), loadavg()
    print(f"{len(cells)} runs of {args.steps} env steps; {cores} cores; load average {load_before}", flush=True)

    run_cell(sweep_cells(make_spec(seeds=1, total_timesteps=1024, label_budget=6, eval_every=1024))[0]['config'])  # warm-up
    start, serial = time.perf_counter(), {}
    for c in cells:
        serial[c['id']] = run_cell(c['config'], c['id'])
        print(f"serial {c['id']}: final {serial[c['id']]['final_true_return']:6.1f}, {serial[c['id']]['seconds']:5.1f} s",
              flush=True)
    serial_seconds = time.perf_counter() - start

    home = tempfile.mkdtemp(prefix='bench_sweep_')
    start = time.perf_counter()
    res = sweep(grid, args.seeds, 'bench', home=home, num_cpus=args.num_cpus, progress=False, **options)
    ray_seconds = time.perf_counter() - start
    records = {p.stem: json.loads(p.read_text()) for p in (Path(res['dir']) / 'cells').glob('*.json')}

    keys = ('status', 'final_true_return', 'labels', 'env_steps', 'evaluations')
    strip = lambda r: {k: r.get(k) for k in keys} | {'evaluations': [{k: v for k, v in e.items() if k != 'seconds'}
                                                                      for e in r.get('evaluations') or []]}
    rows = [dict(id=c['id'], label_budget=c['fields']['label_budget'], seed=c['seed'],
                 serial_final=serial[c['id']]['final_true_return'], ray_final=records[c['id']]['final_true_return'],
                 serial_seconds=serial[c['id']]['seconds'], ray_seconds=records[c['id']]['seconds'],
                 identical=strip(serial[c['id']]) == strip(records[c['id']])) for c in cells]
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                            text=True).stdout.strip() or None
    out = dict(bench='sweep', date=time.strftime('%Y-%m-%d'), machine=platform.processor() or platform.machine(),
               cores=cores, loadavg_before=load_before, loadavg_after=loadavg(), command=' '.join([Path(sys.executable).name, *sys.argv]),
               commit=commit, args=vars(args), runs=len(cells), serial_seconds=round(serial_seconds, 1),
               ray_seconds=round(ray_seconds, 1), ratio=round(serial_seconds / ray_seconds, 2),
               # the runs alone: on a quiet machine a run takes as long on Ray as in series; the rest is Ray's start
               serial_run_seconds=round(sum(r['serial_seconds'] for r in rows), 1),
               ray_run_seconds=round(sum(r['ray_seconds'] for r in rows), 1),
               identical=all(r['identical'] for r in rows), rows=rows)
    print(f"\n{'cell':<10}{'budget':>7}{'seed':>5}{'serial final':>14}{'ray final':>11}{'identical':>11}")
    for r in rows:
        print(f"{r['id']:<10}{r['label_budget']:>7}{r['seed']:>5}{r['serial_final']:>14.1f}{r['ray_final']:>11.1f}"
              f"{str(r['identical']):>11}")
    print(f"\nserial {out['serial_seconds']} s, Ray ({cores} cores) {out['ray_seconds']} s: {out['ratio']}x; "
          f"every cell identical: {out['identical']}; load average {out['loadavg_after']}")
    with atomic_write(args.out, fsync=False) as tmp: tmp.write_text(json.dumps(out, indent=1))
    print(f"written to {args.out}")


if __name__ == '__main__':
    main()
