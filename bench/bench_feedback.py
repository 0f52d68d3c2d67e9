"""Feedback quality on CartPole: the true return of RL from preferences, by teacher, label budget, pair selection,
and with no new queries after pretraining (reward hacking). The full sweep of `nbs/tutorials/feedback_quality.ipynb`.

Every run is the RLHF loop (`rlhf.RLHF`) with a synthetic teacher, a fixed number of env steps (no early stop at a
target return, so a policy that falls apart late is seen), evaluated on the true reward every `--eval-every` steps
(10 greedy episodes on fixed seeds). 40% of each label budget is asked for before PPO starts (the loop's default
40 of 100), the rest from the policy on the paper's decaying schedule. Conditions:

- teacher x budget: the oracle and B-Pref's noisy, myopic, mistake, skip and equal teachers, uniform pairs;
- selection: oracle, pairs where the reward ensemble disagrees most;
- no new queries: oracle, label budget = pretraining pairs (40, and all 100 up front).

For each run it also records why the final policy's evaluation episodes end: the pole falls ('pole'), the cart leaves
the track ('track'), or the 500-step limit ('time').

    .venv/bin/python bench/bench_feedback.py [--seeds 3] [--steps 60000] [--budgets 20,50,100] [--quick] [--out PATH]
Writes bench/results/feedback.json, the recorded results the tutorial reads (or `--out`: the tutorial's own rerun
writes to the data home), after every run so a partial sweep is kept, and prints tables. The runs themselves go to a
temporary store.
"""
import argparse, json, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

from rlhf_nb.core import atomic_write
from rlhf_nb.envs import make_env
from rlhf_nb.rlhf import RLHF, RLHFConfig
from rlhf_nb.store import Store
from rlhf_nb.teachers import TEACHERS


def end_reasons(ppo, episodes=10, seed=10_000):
    "Why the greedy policy's episodes end (same seeds as `evaluate_policy`): counts of pole / track / time."
    env = make_env('CartPole-v1')
    out = dict(pole=0, track=0, time=0)
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            done = False
            while not done:
                obs, _, terminated, truncated, _ = env.step(ppo.act(obs, deterministic=True))
                done = terminated or truncated
            if not terminated: out['time'] += 1
            elif abs(obs[0]) > 2.4: out['track'] += 1
            else: out['pole'] += 1
    finally: env.close()
    return out


def conditions(budgets, teachers):
    "(condition, teacher, selection, label budget, pretraining pairs) of every run of one seed."
    out = [('teacher', t, 'uniform', b, max(2, round(0.4 * b))) for t in teachers for b in budgets]
    out += [('selection', 'oracle', 'disagreement', b, max(2, round(0.4 * b))) for b in budgets]
    out += [('no-new-queries', 'oracle', 'uniform', b, b) for b in (40, 100)]
    return out


def run_one(store, name, teacher, selection, budget, pretrain, seed, steps, eval_every):
    cfg = RLHFConfig(env_id='CartPole-v1', teacher=teacher, selection=selection, label_budget=budget,
                     pretrain_pairs=pretrain, total_timesteps=steps, eval_every=eval_every, eval_episodes=10,
                     target_return=None, seed=seed)
    t = time.perf_counter()
    loop = RLHF(name, cfg, store=store, progress=False)
    final = loop.run()
    seconds = time.perf_counter() - t
    evals = [json.loads(l) for l in (loop.dir / 'evals.jsonl').read_text().splitlines() if l.strip()]
    labels = [lab['label'] for _, lab in store.labeled_pairs(name, include_unknown=True)]
    return dict(final_return=final['true_return_mean'], best_return=max(e['true_return_mean'] for e in evals),
                last3_return=float(np.mean([e['true_return_mean'] for e in evals[-3:]])),
                curve=[(e['global_step'], e['true_return_mean']) for e in evals], labels=len(labels),
                ties=labels.count('tie'), unknown=labels.count('unknown'), ends=end_reasons(loop.ppo),
                seconds=round(seconds, 1))


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
    p.add_argument('--teachers', default=','.join(TEACHERS))
    p.add_argument('--quick', action='store_true', help='1 seed, 20k steps, budgets 20,50 (a smoke test)')
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'feedback.json'), help='results file to write')
    args = p.parse_args()
    if args.quick: args.seeds, args.steps, args.budgets = 1, 20_000, '20,50'
    budgets = [int(b) for b in args.budgets.split(',')]
    store = Store(tempfile.mkdtemp(prefix='bench_feedback_'))
    rows, start = [], time.time()
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                            text=True).stdout.strip() or None  # the library code the sweep ran on
    out = dict(bench='feedback', date=time.strftime('%Y-%m-%d'), machine=platform.processor() or platform.machine(),
               command=' '.join([Path(sys.executable).name, *sys.argv]), commit=commit, args=vars(args))
    for seed in range(args.seeds):
        for cond, teacher, sel, budget, pre in conditions(budgets, args.teachers.split(',')):
            name = f'{cond}-{teacher}-{sel}-{budget}-{pre}-s{seed}'
            r = run_one(store, name, teacher, sel, budget, pre, seed, args.steps, args.eval_every)
            rows.append(dict(condition=cond, teacher=teacher, selection=sel, budget=budget, pretrain=pre, seed=seed, **r))
            print(f"seed {seed} {cond:<15}{teacher:<8}{sel:<13} labels {r['labels']:>3}/{budget:<3} (pre {pre:>3}): final "
                  f"{r['final_return']:6.1f}, last3 {r['last3_return']:6.1f}, best {r['best_return']:5.0f}, "
                  f"ends {r['ends']}, {r['seconds']:.0f} s", flush=True)
            out.update(rows=rows, summary=summarize(rows), wall_minutes=round((time.time() - start) / 60, 1))
            with atomic_write(args.out, fsync=False) as tmp: tmp.write_text(json.dumps(out, indent=1))  # never half a file
    print_table(out['summary'])
    print(f"\n{len(rows)} runs in {out['wall_minutes']} min; written to {args.out}")


if __name__ == '__main__':
    main()
