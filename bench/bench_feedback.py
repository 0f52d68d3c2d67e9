"""Feedback quality on CartPole: the true return of RL from preferences, by teacher, label budget, pair selection,
and with no new queries after pretraining (reward hacking). The full sweep of `nbs/tutorials/feedback_quality.ipynb`.

Every run is the RLHF loop (`rlhf.RLHF`) with a synthetic teacher, a fixed number of env steps (no early stop at a
target return, so a policy that falls apart late is seen), evaluated on the true reward every `--eval-every` steps
(10 greedy episodes on fixed seeds). 40% of each label budget is asked for before PPO starts (the loop's default
40 of 100), the rest from the policy on the paper's decaying schedule. The conditions are three sub-grids, not one
grid, so they are given to `sweep.sweep` as a list:

- teacher x budget: the oracle and B-Pref's noisy, myopic, mistake, skip and equal teachers, uniform pairs;
- selection: oracle, pairs where the reward ensemble disagrees most;
- no new queries: oracle, label budget = pretraining pairs (40, and all 100 up front).

Each condition runs with every seed, one run per core on a local Ray (or on the cluster of `$RAY_ADDRESS`). For each
run the sweep also records why the final policy's evaluation episodes end (`end_reasons`, run on the worker that
trained it): the pole falls ('pole'), the cart leaves the track ('track'), or the 500-step limit ('time').

    .venv/bin/python bench/bench_feedback.py [--seeds 3] [--steps 60000] [--budgets 20,50,100] [--quick]
                                             [--num-cpus N] [--home DIR] [--name feedback] [--out PATH]
The sweep's folder is `<home>/sweeps/<name>/` (cells, tables, figure) in a temporary data home unless `--home` is
given; the same command with the same `--home` goes on with a sweep that stopped. Writes bench/results/feedback.json,
the recorded results the tutorial reads (or `--out`: the tutorial's own rerun writes to the data home), and prints
tables.
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

from rlhf_nb.core import UserError, atomic_write
from rlhf_nb.envs import make_env
from rlhf_nb.sweep import sweep
from rlhf_nb.teachers import RETURN_TEACHERS


def end_reasons(loop, episodes=10, seed=10_000):
    "Why the final greedy policy's episodes end (same seeds as `evaluate_policy`): counts of pole / track / time."
    env = make_env('CartPole-v1')
    out = dict(pole=0, track=0, time=0)
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            done = False
            while not done:
                obs, _, terminated, truncated, _ = env.step(loop.ppo.act(obs, deterministic=True))
                done = terminated or truncated
            if not terminated: out['time'] += 1
            elif abs(obs[0]) > 2.4: out['track'] += 1
            else: out['pole'] += 1
    finally: env.close()
    return out


def conditions(budgets, teachers):
    "[(kind, RLHFConfig fields)] of every condition: teacher x budget, disagreement x budget, no new queries."
    def cond(teacher, selection, budget, pretrain):
        return dict(teacher=teacher, selection=selection, label_budget=budget, pretrain_pairs=pretrain)
    pre = lambda b: max(2, round(0.4 * b))
    out = [('teacher', cond(t, 'uniform', b, pre(b))) for t in teachers for b in budgets]
    out += [('selection', cond('oracle', 'disagreement', b, pre(b))) for b in budgets]
    out += [('no-new-queries', cond('oracle', 'uniform', b, b)) for b in (40, 100)]
    return out


def row(kind, cell):
    "A finished cell of the sweep as a row of the results file."
    f, evals = cell['fields'], cell['evaluations']
    return dict(condition=kind, teacher=f['teacher'], selection=f['selection'], budget=f['label_budget'],
                pretrain=f['pretrain_pairs'], seed=cell['seed'], final_return=cell['final_true_return'],
                best_return=max(e['true_return_mean'] for e in evals),
                last3_return=float(np.mean([e['true_return_mean'] for e in evals[-3:]])),
                curve=[(e['global_step'], e['true_return_mean']) for e in evals], labels=cell['labels'],
                ties=cell['ties'], unknown=cell['unknown'], ends=cell['analysis'], seconds=round(cell['seconds'], 1))


def summarize(rows):
    "Mean over seeds per (condition, teacher, selection, budget, pretrain)."
    groups = {}
    for r in rows: groups.setdefault((r['condition'], r['teacher'], r['selection'], r['budget'], r['pretrain']), []).append(r)
    out = []
    for (cond, teacher, sel, budget, pre), rs in groups.items():
        out.append(dict(condition=cond, teacher=teacher, selection=sel, budget=budget, pretrain=pre, seeds=len(rs),
                        final_return=statistics.mean(r['final_return'] for r in rs),
                        final_min=min(r['final_return'] for r in rs),
                        last3_return=statistics.mean(r['last3_return'] for r in rs),
                        best_return=statistics.mean(r['best_return'] for r in rs),
                        solved=sum(r['final_return'] >= 475 for r in rs),
                        ties=statistics.mean(r['ties'] / max(1, r['labels']) for r in rs),
                        track_ends=sum(r['ends']['track'] for r in rs), episodes=10 * len(rs),
                        seconds=statistics.mean(r['seconds'] for r in rs)))
    return out


def print_table(summary):
    print(f"\n{'condition':<15}{'teacher':<9}{'selection':<13}{'labels':>7}{'pre':>5}{'final':>8}{'min':>7}{'last3':>8}"
          f"{'best':>7}{'solved':>8}{'ties':>6}{'track ends':>11}")
    for s in summary:
        print(f"{s['condition']:<15}{s['teacher']:<9}{s['selection']:<13}{s['budget']:>7}{s['pretrain']:>5}"
              f"{s['final_return']:>8.1f}{s['final_min']:>7.0f}{s['last3_return']:>8.1f}{s['best_return']:>7.0f}"
              f"{s['solved']:>5}/{s['seeds']:<2}{s['ties']:>6.0%}{s['track_ends']:>6}/{s['episodes']}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--steps', type=int, default=60_000, help='env steps of PPO per run')
    p.add_argument('--eval-every', type=int, default=10_000)
    p.add_argument('--budgets', default='20,50,100', help='label budgets of the teacher and selection sweeps')
    p.add_argument('--teachers', default=','.join(RETURN_TEACHERS))
    p.add_argument('--quick', action='store_true', help='1 seed, 20k steps, budgets 20,50 (a smoke test)')
    p.add_argument('--num-cpus', type=int, default=None, help="runs at once on a local Ray (default: this machine's cores)")
    p.add_argument('--home', default=None, help='data home of the sweep (default: a temporary one)')
    p.add_argument('--name', default='feedback', help="the sweep's name in the data home")
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'feedback.json'), help='results file to write')
    args = p.parse_args()
    if args.quick: args.seeds, args.steps, args.budgets = 1, 20_000, '20,50'
    kinds = conditions([int(b) for b in args.budgets.split(',')], args.teachers.split(','))
    home = args.home or tempfile.mkdtemp(prefix='bench_feedback_')
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                            text=True).stdout.strip() or None  # the library code the sweep ran on
    start = time.time()
    try:
        res = sweep([fields for _, fields in kinds], args.seeds, args.name, home=home, num_cpus=args.num_cpus,
                    analyse=end_reasons, total_timesteps=args.steps, eval_every=args.eval_every, eval_episodes=10)
    except UserError as e: sys.exit(f"bench_feedback: {e}")
    except KeyboardInterrupt: sys.exit(f"bench_feedback: stopped; go on with the same command and --home {home}")
    wall = time.time() - start
    cells = [json.loads((Path(res['dir']) / 'cells' / f"{c['id']}.json").read_text())
             for c in sorted(res['cells'], key=lambda c: (c['seed'], c['condition'])) if c['status'] == 'done']
    rows = [row(kinds[c['condition']][0], c) for c in cells]
    out = dict(bench='feedback', date=time.strftime('%Y-%m-%d'), machine=platform.processor() or platform.machine(),
               command=' '.join([Path(sys.executable).name, *sys.argv]), commit=commit, args=vars(args),
               cores=None if os.environ.get('RAY_ADDRESS') else args.num_cpus or len(os.sched_getaffinity(0)),
               rows=rows, summary=summarize(rows), wall_minutes=round(wall / 60, 1))
    with atomic_write(args.out, fsync=False) as tmp: tmp.write_text(json.dumps(out, indent=1))
    print_table(out['summary'])
    print(f"\n{len(rows)} runs in {out['wall_minutes']} min ({res['counts']['failed']} failed); written to {args.out}")


if __name__ == '__main__':
    main()
