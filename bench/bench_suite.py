"""RLHF beside PPO on the env reward, env by env: the final policy's true return after the whole budget, same seeds.

For each env of the suite, two conditions run with every seed, one run per core on a local Ray (`sweep.sweep`):

- RLHF: the loop (`rlhf.RLHF`) with a synthetic teacher (the oracle, or `judge` where the env's reward says nothing
  within a clip) and a label budget;
- PPO on the env reward (`reward='env'`), the same PPO settings, env steps and seeds;
- on Pendulum-v1 also imitation's preference comparisons with the same labels, env steps and seeds, after the sweep
  (`bench_imitation.py`, in a venv of its own; `--no-imitation` leaves it out).

Every run trains its whole budget (no early stop on the true return) and the result is its final policy: the mean
true return of 10 greedy episodes on fixed seeds (`ppo.evaluate_policy`), every seed listed. A uniformly random
policy is evaluated on the same episodes, so that each env's results can also be read as progress over random play:
(RLHF - random) / (PPO - random), the "ratio to PPO" of the table (returns are negative on several envs, so a plain
ratio of returns would read backwards). Settings are the env's row of `envs.ENV_SETTINGS` except the budgets below.

    .venv/bin/python bench/bench_suite.py [--envs CartPole-v1,Acrobot-v1,...] [--seeds 5] [--quick]
                                          [--num-cpus N] [--home DIR] [--name suite] [--out PATH]
Writes bench/results/suite.json and suite.png (learning curves: one panel per env, both conditions) and prints a
table. The envs of a run replace their own results in the file; the other envs' results stay, each env's summary
saying when, at which commit and with which command it was measured (`measured`). The sweep's folder is `<home>/sweeps/<name>/`; the same command with the same `--home` goes on with a sweep
that stopped.
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

from rlhf_nb.core import UserError, atomic_write
from rlhf_nb.clips import RandomPolicy
from rlhf_nb.envs import env_settings, make_env
from rlhf_nb.ppo import evaluate_policy
from rlhf_nb.sweep import sweep

# env id: the RLHF condition's teacher, labels, env steps and how pairs are chosen, and the issue's target for RLHF's
# final policy: ('all', R) every seed's final return >= R; ('mean', R) the mean over seeds >= R; ('ppo', f) the mean
# >= f x PPO's mean. CartPole asks by disagreement: at 30 labels uniform pairs left 2 of 5 seeds short of 475, the
# ensemble's disagreement none (bench/RESULTS.md, "CartPole at 30 labels"). LunarLander is labeled by the judge
# (`near-pad-fuel`; the oracle's policies hovered or crashed), pairs by disagreement (bench/RESULTS.md, "LunarLander").
SUITE = {
    'CartPole-v1':    dict(teacher='oracle', label_budget=30,  total_timesteps=150_000, selection='disagreement',
                           target=('all', 475)),
    'Acrobot-v1':     dict(teacher='judge',  label_budget=100, total_timesteps=200_000, target=('mean', -100)),
    'MountainCar-v0': dict(teacher='judge',  label_budget=200, total_timesteps=300_000, target=('mean', -130)),
    'LunarLander-v3': dict(teacher='judge',  label_budget=500, total_timesteps=1_000_000, selection='disagreement',
                           target=('mean', 200)),
    'Pendulum-v1':    dict(teacher='oracle', label_budget=100, total_timesteps=200_000, target=('mean', -200),
                           imitation=True),  # imitation's preference comparisons beside it (bench_imitation.py)
    'Hopper-v5':      dict(teacher='oracle', label_budget=500, total_timesteps=1_000_000, target=('ppo', 0.9)),
    'HalfCheetah-v5': dict(teacher='oracle', label_budget=500, total_timesteps=1_000_000, target=('ppo', 0.9)),
}


def conditions(envs):
    "[(env id, 'rlhf' or 'ppo', RLHFConfig fields)]: both conditions of each env, the same fields set in each."
    out = []
    for env_id in envs:
        s = SUITE[env_id]
        pretrain = min(env_settings(env_id)['loop'].get('pretrain_pairs', 40), round(0.4 * s['label_budget']))
        base = dict(env_id=env_id, teacher=s['teacher'], label_budget=s['label_budget'], pretrain_pairs=pretrain,
                    total_timesteps=s['total_timesteps'], selection=s.get('selection', 'uniform'))
        out += [(env_id, 'rlhf', {**base, 'reward': 'learned'}), (env_id, 'ppo', {**base, 'reward': 'env'})]
    return out


def random_return(env_id, episodes=10):
    "A uniformly random policy's mean true return on the evaluation episodes' seeds."
    env = make_env(env_id)
    policy = RandomPolicy(env.action_space, seed=0)
    env.close()
    return statistics.fmean(evaluate_policy(policy, env_id, episodes))


def target_met(target, finals, ppo_mean):
    kind, value = target
    if kind == 'all': return all(f >= value for f in finals)
    if kind == 'mean': return statistics.fmean(finals) >= value
    return statistics.fmean(finals) >= value * ppo_mean


def describe(target):
    kind, value = target
    return {'all': f"every seed >= {value:g}", 'mean': f"mean >= {value:g}", 'ppo': f"mean >= {value:.0%} of PPO's"}[kind]


def summarize(rows, envs):
    "Per env: both conditions' finals per seed, means, the ratio to PPO over random, the target and whether it is met."
    out = []
    for env_id in envs:
        by = {c: [r for r in rows if r['env_id'] == env_id and r['condition'] == c] for c in ('rlhf', 'ppo')}
        if not by['rlhf'] or not by['ppo']: continue
        rl, pp = ([r['final_return'] for r in by[c]] for c in ('rlhf', 'ppo'))
        rnd = random_return(env_id)
        gain_ppo = statistics.fmean(pp) - rnd
        imitation = [r['final_return'] for r in rows if r['env_id'] == env_id and r['condition'] == 'imitation']
        out.append(dict(env_id=env_id, teacher=SUITE[env_id]['teacher'], labels=max(r['labels'] for r in by['rlhf']),
                        env_steps=SUITE[env_id]['total_timesteps'], seeds=[r['seed'] for r in by['rlhf']],
                        rlhf_finals=rl, ppo_finals=pp, rlhf_mean=statistics.fmean(rl), ppo_mean=statistics.fmean(pp),
                        random_mean=rnd,
                        ratio_over_random=(statistics.fmean(rl) - rnd) / gain_ppo if abs(gain_ppo) > 1e-9 else None,
                        target=describe(SUITE[env_id]['target']),
                        target_met=target_met(SUITE[env_id]['target'], rl, statistics.fmean(pp)),
                        rlhf_minutes=statistics.fmean(r['seconds'] for r in by['rlhf']) / 60,
                        ppo_minutes=statistics.fmean(r['seconds'] for r in by['ppo']) / 60,
                        **(dict(imitation_finals=imitation, imitation_mean=statistics.fmean(imitation)) if imitation else {})))
    return out


def merged(path, envs, summary, rows, failed) -> dict:
    "The results file with this run's envs replaced and the other envs' results kept, each with when and how measured."
    old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    keep = lambda items: [x for x in items if x['env_id'] not in envs]
    order = lambda items: sorted(items, key=lambda x: list(SUITE).index(x['env_id']) if x['env_id'] in SUITE else len(SUITE))
    return dict(bench='suite', summary=order(keep(old.get('summary', [])) + summary),
                rows=keep(old.get('rows', [])) + rows, failed=keep(old.get('failed', [])) + failed)


def print_table(summary):
    print("\n| env | teacher | labels | env steps | RLHF final, each seed | mean | PPO (env reward), each seed | mean "
          "| random | ratio to PPO over random | target | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        each = lambda xs: ', '.join(f"{x:.0f}" for x in xs)
        ratio = 'PPO at random' if s['ratio_over_random'] is None else f"{s['ratio_over_random']:.2f}"
        print(f"| {s['env_id']} | {s['teacher']} | {s['labels']} | {s['env_steps']:,} | {each(s['rlhf_finals'])} "
              f"| {s['rlhf_mean']:.1f} | {each(s['ppo_finals'])} | {s['ppo_mean']:.1f} | {s['random_mean']:.1f} | {ratio} "
              f"| {s['target']} | {'yes' if s['target_met'] else 'no'} |")
    for s in summary:
        if 'imitation_finals' in s:
            print(f"\n{s['env_id']}: imitation's preference comparisons, same labels and env steps, each seed: "
                  f"{', '.join(f'{x:.0f}' for x in s['imitation_finals'])} (mean {s['imitation_mean']:.1f})")


def plot(rows, envs, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 3.4), squeeze=False)
    for ax, env_id in zip(axes[0], envs):
        for cond, colour, label in (('rlhf', 'C0', 'RLHF'), ('ppo', 'C1', 'PPO on env reward')):
            curves = [r['curve'] for r in rows if r['env_id'] == env_id and r['condition'] == cond]
            for c in curves: ax.plot(*zip(*c), color=colour, alpha=0.3, lw=0.8)
            if curves:
                n = min(len(c) for c in curves)
                steps = [pt[0] for pt in curves[0][:n]]
                ax.plot(steps, np.mean([[p[1] for p in c[:n]] for c in curves], 0), color=colour, lw=2,
                        label=f"{label} (mean; thin: each seed)")
        seeds = len({r['seed'] for r in rows if r['env_id'] == env_id})
        ax.set_title(f"{env_id} ({seeds} seeds)"); ax.set_xlabel('env steps'); ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(lambda x, _: f'{x / 1000:g}k')
    axes[0][0].set_ylabel('true return (greedy, 10 episodes)'); axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, fsync=False) as tmp: fig.savefig(tmp, dpi=110, format='png')
    plt.close(fig)


def run_imitation_seeds(env_id, seeds, workers) -> list[dict]:
    "imitation's preference comparisons on `env_id` with the RLHF condition's labels and env steps, a run per seed."
    from concurrent.futures import ThreadPoolExecutor
    from bench_imitation import imitation_python, run_imitation  # its own venv, made once
    py, s = imitation_python(), SUITE[env_id]
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda seed: run_imitation(py, seed, s['label_budget'], s['total_timesteps']), seeds))
    return [dict(env_id=env_id, condition='imitation', seed=r['seed'], final_return=r['final_return'], labels=r['labels'],
                 env_steps=r['env_steps'], seconds=round(r['seconds'], 1), curve=[]) for r in results]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--envs', default=','.join(SUITE), help=f"comma-separated, from: {', '.join(SUITE)}")
    p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--quick', action='store_true', help='1 seed, a tenth of each budget (a smoke test, not a result)')
    p.add_argument('--num-cpus', type=int, default=None, help="runs at once on a local Ray (default: this machine's cores)")
    p.add_argument('--home', default=None, help='data home of the sweep (default: a temporary one)')
    p.add_argument('--name', default='suite', help="the sweep's name in the data home")
    p.add_argument('--no-imitation', action='store_true', help="skip imitation's runs beside Pendulum")
    p.add_argument('--out', default=str(Path(__file__).parent / 'results' / 'suite.json'), help='results file to write')
    args = p.parse_args()
    envs = args.envs.split(',')
    unknown = [e for e in envs if e not in SUITE]
    if unknown: sys.exit(f"bench_suite: unknown env(s) {', '.join(unknown)}: use {', '.join(SUITE)}")
    kinds = conditions(envs)
    if args.quick:
        args.seeds = 1
        for _, _, f in kinds: f['total_timesteps'] //= 10
    home = args.home or tempfile.mkdtemp(prefix='bench_suite_')
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                            text=True).stdout.strip() or None
    start = time.time()
    try:
        res = sweep([f for _, _, f in kinds], args.seeds, args.name, home=home, num_cpus=args.num_cpus, eval_episodes=10)
    except UserError as e: sys.exit(f"bench_suite: {e}")
    except KeyboardInterrupt: sys.exit(f"bench_suite: stopped; go on with the same command and --home {home}")
    seeds = sorted({c['seed'] for c in res['cells']})
    imitation_rows = [r for e in envs if SUITE[e].get('imitation') and not args.no_imitation and not args.quick
                      for r in run_imitation_seeds(e, seeds, args.num_cpus or len(os.sched_getaffinity(0)))]
    wall = time.time() - start
    rows, failed = [], []
    for c in sorted(res['cells'], key=lambda c: (c['condition'], c['seed'])):
        env_id, cond, _ = kinds[c['condition']]
        if c['status'] != 'done':
            failed.append(dict(env_id=env_id, condition=cond, seed=c['seed'], status=c['status'], error=c.get('error')))
            continue
        cell = json.loads((Path(res['dir']) / 'cells' / f"{c['id']}.json").read_text())
        rows.append(dict(env_id=env_id, condition=cond, seed=c['seed'], final_return=cell['final_true_return'],
                         labels=cell['labels'], ties=cell['ties'], env_steps=cell['env_steps'],
                         seconds=round(cell['seconds'], 1),
                         curve=[(e['global_step'], e['true_return_mean']) for e in cell['evaluations']]))
    rows += imitation_rows
    measured = dict(date=time.strftime('%Y-%m-%d'), commit=commit, command=' '.join([Path(sys.executable).name, *sys.argv]),
                    machine=platform.processor() or platform.machine(), wall_minutes=round(wall / 60, 1),
                    cores=None if os.environ.get('RAY_ADDRESS') else args.num_cpus or len(os.sched_getaffinity(0)))
    summary = [dict(s, measured=measured) for s in summarize(rows, envs)]
    out = merged(args.out, envs, summary, rows, failed)
    with atomic_write(args.out, fsync=False) as tmp: tmp.write_text(json.dumps(out, indent=1))
    plot(out['rows'], [s['env_id'] for s in out['summary']], Path(args.out).with_suffix('.png'))
    print_table(out['summary'])
    for f in failed: print(f"FAILED {f['env_id']} {f['condition']} seed {f['seed']}: {f['error']}")
    print(f"\n{len(rows)} runs in {measured['wall_minutes']} min ({len(failed)} failed); written to {args.out}")


if __name__ == '__main__':
    main()
