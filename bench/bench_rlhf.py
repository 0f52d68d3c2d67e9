"""CartPole from scratch: RLHF with the oracle teacher vs PPO on the env reward, side by side, seed by seed.

For each seed, both runs stop once the policy's mean true return over 10 evaluation episodes (fixed seeds)
reaches the target; evaluations every `--eval-every` env steps are not counted in the wall time. Both kinds of
run are warmed up once first (untimed), so neither pays the process's first-use costs (torch, imports).
The oracle reads rewards, so by default no video is made (as `rlhf-nb train` does for a synthetic teacher);
`--videos` has every pair's video encoded in the background too, as it would be to watch them later.
Targets (issue 7): RLHF reaches >= 475 with <= 100 labels and <= 150k env steps on 5 seeds of 5, in a wall
time within 1.5x of PPO on the env reward reaching the same return (the ratio is taken per seed, in one run).

    .venv/bin/python bench/bench_rlhf.py [--seeds 5] [--eval-every 2048]
Writes bench/results/rlhf.json and prints a table.
"""
import argparse, json, platform, statistics, sys, tempfile, time
from pathlib import Path

from rlhf_nb.rlhf import RLHF, RLHFConfig
from rlhf_nb.store import Store

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--eval-every', type=int, default=2048)
    p.add_argument('--label-budget', type=int, default=100)
    p.add_argument('--total-timesteps', type=int, default=150_000)
    p.add_argument('--selection', default='uniform')
    p.add_argument('--videos', action='store_true', help="also encode every pair's videos (in the background)")
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'rlhf.json'))
    args = p.parse_args()
    store = Store(tempfile.mkdtemp(prefix='bench_rlhf_'))
    for kind, reward in (('rlhf', 'learned'), ('env', 'env')):  # warm-up, untimed
        cfg = RLHFConfig.for_env('CartPole-v1', teacher='oracle', reward=reward, label_budget=12, pretrain_pairs=8,
                                 round_steps=1024, total_timesteps=2048, eval_every=2048, target_return=None,
                                 videos=args.videos or None)
        RLHF(f'warm-up-{kind}', cfg, store=store, progress=False).run()
    print("time to 475: every run stops early once its evaluated true return reaches 475 (target_return=475)", flush=True)
    rows = []
    for seed in range(args.seeds):
        row = dict(seed=seed)
        for kind, reward in (('rlhf', 'learned'), ('env', 'env')):
            cfg = RLHFConfig.for_env('CartPole-v1', teacher='oracle', reward=reward, seed=seed,
                                     label_budget=args.label_budget, total_timesteps=args.total_timesteps,
                                     eval_every=args.eval_every, target_return=475.0, selection=args.selection,
                                     videos=args.videos or None)
            r = RLHF(f'{kind}-{seed}', cfg, store=store, progress=False).run()
            row[kind] = dict(true_return=r['true_return_mean'], env_steps=r['global_step'], seconds=r['seconds'],
                             labels=r['labels'] if reward == 'learned' else 0)
            print(f"seed {seed} {kind:>4}: return {r['true_return_mean']:6.1f} at {r['global_step']:>6} steps, "
                  f"{r['seconds']:6.1f} s, {row[kind]['labels']} labels", flush=True)
        row['wall_ratio'] = row['rlhf']['seconds'] / row['env']['seconds']
        row['ok'] = (row['rlhf']['true_return'] >= 475 and row['rlhf']['labels'] <= args.label_budget
                     and row['rlhf']['env_steps'] <= args.total_timesteps)
        rows.append(row)
    summary = dict(
        seeds_solved=sum(r['ok'] for r in rows), seeds=len(rows),
        median_wall_ratio=statistics.median(r['wall_ratio'] for r in rows),
        max_wall_ratio=max(r['wall_ratio'] for r in rows),
        total_wall_ratio=sum(r['rlhf']['seconds'] for r in rows) / sum(r['env']['seconds'] for r in rows),
        videos=args.videos,
        median_labels=statistics.median(r['rlhf']['labels'] for r in rows),
        median_rlhf_steps=statistics.median(r['rlhf']['env_steps'] for r in rows),
        median_env_steps=statistics.median(r['env']['env_steps'] for r in rows))
    out = dict(bench='rlhf', date=time.strftime('%Y-%m-%d'), machine=f'{platform.processor() or platform.machine()}',
               command=' '.join([Path(sys.executable).name, *sys.argv]), args=vars(args), rows=rows, summary=summary)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"\n{'seed':>4} {'RLHF return':>12} {'labels':>7} {'steps':>7} {'RLHF s':>7} {'env s':>7} {'env steps':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['seed']:>4} {r['rlhf']['true_return']:>12.1f} {r['rlhf']['labels']:>7} {r['rlhf']['env_steps']:>7} "
              f"{r['rlhf']['seconds']:>7.1f} {r['env']['seconds']:>7.1f} {r['env']['env_steps']:>9} {r['wall_ratio']:>6.2f}")
    print(f"solved {summary['seeds_solved']}/{summary['seeds']}; wall-time ratio RLHF/env: median "
          f"{summary['median_wall_ratio']:.2f}, max {summary['max_wall_ratio']:.2f}, all seeds' time together "
          f"{summary['total_wall_ratio']:.2f}")

if __name__ == '__main__':
    main()
