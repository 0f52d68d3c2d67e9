"""PPO benchmark: env steps per second against stable-baselines3, and CartPole steps to a return of 475.

    .venv/bin/python bench/bench_ppo.py                 # both parts, results in bench/results/ppo.json
    .venv/bin/python bench/bench_ppo.py --skip-sb3      # only the steps-to-475 part
    .venv/bin/python bench/bench_ppo.py --seeds 0 1 2 --sps-steps 20480 --repeats 2
    .venv/bin/python bench/bench_ppo.py --env Pendulum-v1 --seeds 0 1 2 --eval-every 20480   # another env

Speed: rlhf_nb's PPO and stable-baselines3's PPO run the same number of CartPole-v1 env steps with the same
hyperparameters (8 envs x 32 steps, 20 epochs of one 256-sample minibatch, MLP 64x64 tanh, one torch thread),
each in a fresh process, alternating, `--repeats` times each. The ratio of the medians is reported per CPU second
of the process (with one thread, the speed on an idle core: robust to other work on a shared machine) and per
wall-clock second. stable-baselines3 runs
in its own virtual environment, made by this script (default /tmp/rlhf_nb_bench_sb3): torch==2.13.0 first (a CPU
wheel, no CUDA packages), then pinned stable-baselines3 and gymnasium. It is never a dependency of rlhf_nb.

Sample efficiency: for each seed, PPO with `PPOConfig.for_env('CartPole-v1')` trains on the env reward, and every
`--eval-every` steps the policy is evaluated on 10 fixed episodes (`evaluate_policy`, greedy and sampled); we report
the first step where the mean true return is >= 475, the training wall time to it (evaluation time excluded),
and the return at the end of the run.

Other envs (`--env`, continuous control included): the same evaluation with the env's settings from
`envs.ENV_SETTINGS` (and `--set` overrides), against the env's target in `TARGETS` (or `--target`); the speed part
is CartPole's only. Results go to `envs[env_id]` in the same JSON file; each env keeps its previous results.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

from venvs import baseline_python

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'bench' / 'results' / 'ppo.json'
SB3_VERSION = '2.9.2'

# The mean true return each env's evaluation is measured against (Pendulum: the RLHF target of the continuous-control
# issue, which PPO on the env reward must beat by a margin to make it reachable).
TARGETS = {'CartPole-v1': 475.0, 'Pendulum-v1': -200.0}  # other envs: none, only the returns

# The hyperparameters both libraries run with in the speed part (our CartPole defaults).
SPEED_SETTINGS = dict(num_envs=8, num_steps=32, update_epochs=20, num_minibatches=1, learning_rate=1e-3,
                      gamma=0.98, gae_lambda=0.8, ent_coef=0.0, clip_coef=0.2, hidden_size=64)

SB3_SCRIPT = r'''
import json, sys, time, torch
threads, steps, seed, s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(threads)
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
env = make_vec_env('CartPole-v1', n_envs=s['num_envs'], seed=seed)
lr = s['learning_rate']
model = PPO('MlpPolicy', env, n_steps=s['num_steps'], batch_size=s['num_envs'] * s['num_steps'] // s['num_minibatches'],
            n_epochs=s['update_epochs'], gamma=s['gamma'], gae_lambda=s['gae_lambda'], ent_coef=s['ent_coef'],
            clip_range=s['clip_coef'], learning_rate=lambda remaining: lr * remaining, max_grad_norm=0.5, vf_coef=0.5,
            policy_kwargs=dict(net_arch=[s['hidden_size']] * 2), device='cpu', seed=seed, verbose=0)
start, cpu = time.perf_counter(), time.process_time()
model.learn(steps)
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps(dict(steps=int(model.num_timesteps), seconds=seconds, cpu_seconds=cpu_seconds, threads=torch.get_num_threads())))
'''


def sb3_python(venv:Path) -> Path:
    "The python of a venv holding stable-baselines3 and our gymnasium version, made if missing."
    import gymnasium
    return baseline_python(venv, [f'stable-baselines3=={SB3_VERSION}', f'gymnasium=={gymnasium.__version__}'],
                           f'sb3-{SB3_VERSION}')


def run_sb3(py:Path, steps:int, seed:int, threads:int) -> dict:
    out = subprocess.run([str(py), '-c', SB3_SCRIPT, str(threads), str(steps), str(seed), json.dumps(SPEED_SETTINGS)],
                         check=True, capture_output=True, text=True, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(r, sps=r['steps'] / r['seconds'], cpu_sps=r['steps'] / r['cpu_seconds'])


OURS_SCRIPT = r'''
import json, sys, time, torch
steps, seed, s = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
from rlhf_nb.ppo import PPO, PPOConfig
from rlhf_nb.envs import make_vector_env
cfg = PPOConfig.for_env('CartPole-v1', total_timesteps=steps, **s)
ppo = PPO(cfg, make_vector_env('CartPole-v1', cfg.num_envs), seed=seed, device='cpu')
start, cpu = time.perf_counter(), time.process_time()
ppo.learn(steps, progress=False)
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps(dict(steps=ppo.global_step, seconds=seconds, cpu_seconds=cpu_seconds, threads=torch.get_num_threads())))
'''


def run_ours(steps:int, seed:int, torch_threads:int|None=1) -> dict:
    "Our PPO in a fresh process too, so both pay the same start-up and neither inherits the other's state."
    settings = dict(SPEED_SETTINGS, torch_threads=torch_threads)
    out = subprocess.run([sys.executable, '-c', OURS_SCRIPT, str(steps), str(seed), json.dumps(settings)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(r, sps=r['steps'] / r['seconds'], cpu_sps=r['steps'] / r['cpu_seconds'])


def speed(args) -> dict:
    py = sb3_python(Path(args.sb3_venv))
    ours, sb3 = [], []
    for i in range(args.repeats):  # alternate, so both see the same load on a shared machine
        ours.append(run_ours(args.sps_steps, seed=i))
        sb3.append(run_sb3(py, args.sps_steps, seed=i, threads=1))
        print(f"  repeat {i}: rlhf_nb {ours[-1]['sps']:,.0f} steps/s ({ours[-1]['cpu_sps']:,.0f} per CPU second), "
              f"stable-baselines3 {sb3[-1]['sps']:,.0f} steps/s ({sb3[-1]['cpu_sps']:,.0f} per CPU second)", flush=True)
    # For reference, one shorter run of each with torch's default threads (every core): slow on a busy machine
    short = max(2048, args.sps_steps // 4)
    sb3_default = run_sb3(py, short, seed=0, threads=os.cpu_count())
    ours_default = run_ours(short, seed=0, torch_threads=None)
    med = lambda runs, key: statistics.median(r[key] for r in runs)
    o, s = med(ours, 'sps'), med(sb3, 'sps')
    oc, sc = med(ours, 'cpu_sps'), med(sb3, 'cpu_sps')
    return dict(steps=args.sps_steps, repeats=args.repeats, settings=SPEED_SETTINGS, torch_threads=1,
                # steps per CPU second: with one thread each, the wall speed on an idle core, and robust to the
                # other work on a shared machine (wall-clock numbers swing 2-3x from run to run there)
                rlhf_nb_cpu_sps=round(oc), sb3_cpu_sps=round(sc), cpu_ratio=round(oc / sc, 2),
                rlhf_nb_sps=round(o), sb3_sps=round(s), ratio=round(o / s, 2), sb3_version=SB3_VERSION,
                sb3_all_threads_sps=round(sb3_default['sps']), sb3_all_threads=sb3_default['threads'],
                rlhf_nb_all_threads_sps=round(ours_default['sps']), rlhf_nb_all_threads=ours_default['threads'],
                runs=dict(rlhf_nb=[round(r['sps']) for r in ours], sb3=[round(r['sps']) for r in sb3],
                          rlhf_nb_cpu=[round(r['cpu_sps']) for r in ours], sb3_cpu=[round(r['cpu_sps']) for r in sb3]))


def steps_to_target(seed:int, target:float=475.0, eval_every:int=4096, max_steps:int|None=None,
                    episodes:int=10, env_id:str='CartPole-v1', **overrides) -> dict:
    "Train PPO on the env reward; evaluate every `eval_every` steps; when did the mean reach `target`?"
    from rlhf_nb.ppo import PPO, PPOConfig, evaluate_policy
    from rlhf_nb.envs import make_vector_env
    cfg = PPOConfig.for_env(env_id, **overrides)
    max_steps = max_steps or cfg.total_timesteps
    ppo = PPO(cfg, make_vector_env(env_id, cfg.num_envs), seed=seed, device='cpu')
    cpu_start = time.process_time()
    evals, next_eval, eval_seconds, eval_cpu_seconds = [], eval_every, 0.0, 0.0
    first = dict(greedy=None, sampled=None)
    start = time.perf_counter()

    def callback(m):
        nonlocal next_eval, eval_seconds, eval_cpu_seconds
        if m['global_step'] < next_eval and m['global_step'] < max_steps: return
        next_eval += eval_every
        t = time.perf_counter()
        row = dict(step=m['global_step'], train_seconds=round(t - start - eval_seconds, 2),
                   train_cpu_seconds=round(time.process_time() - cpu_start - eval_cpu_seconds, 2))
        c = time.process_time()
        for mode in ('greedy', 'sampled'):
            row[mode] = statistics.mean(evaluate_policy(ppo, env_id, episodes, deterministic=mode == 'greedy'))
            if first[mode] is None and row[mode] >= target: first[mode] = dict(step=row['step'], seconds=row['train_seconds'])
        evals.append(row)
        eval_seconds += time.perf_counter() - t
        eval_cpu_seconds += time.process_time() - c

    ppo.learn(max_steps, callback=callback, progress=False)
    last = evals[-1]
    after = [e for e in evals if first['greedy'] and e['step'] >= first['greedy']['step']]
    held = None  # the first evaluation from which every later one is >= target too
    for e in reversed(evals):
        if e['greedy'] < target: break
        held = dict(step=e['step'], seconds=e['train_seconds'])
    return dict(seed=seed, first_greedy=first['greedy'], first_sampled=first['sampled'], held_greedy=held,
                final_greedy=last['greedy'], final_sampled=last['sampled'], final_step=last['step'],
                greedy_held=sum(e['greedy'] >= target for e in after) / len(after) if after else None,
                train_seconds=last['train_seconds'], train_cpu_seconds=last['train_cpu_seconds'],
                steps_per_cpu_second=round(last['step'] / last['train_cpu_seconds']), evals=evals)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--env', default='CartPole-v1', help='env id; other than CartPole: only the evaluation part')
    p.add_argument('--target', type=float, default=None, help="mean true return to reach (default: the env's in TARGETS)")
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    p.add_argument('--eval-every', type=int, default=4096)
    p.add_argument('--max-steps', type=int, default=None, help='train this long (default: total_timesteps)')
    p.add_argument('--sps-steps', type=int, default=40_960, help='env steps per speed run')
    p.add_argument('--repeats', type=int, default=3, help='speed runs of each library')
    p.add_argument('--sb3-venv', default='/tmp/rlhf_nb_bench_sb3')
    p.add_argument('--skip-sb3', action='store_true', help='skip the speed comparison (keep its previous results)')
    p.add_argument('--skip-target', action='store_true', help='skip the steps-to-475 part (keep its previous results)')
    p.add_argument('--set', nargs='*', default=[], metavar='FIELD=VALUE', help='PPOConfig overrides (tuning)')
    p.add_argument('--out', default=str(RESULTS))
    args = p.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (kv.split('=', 1) for kv in args.set)}
    if args.env != 'CartPole-v1': return other_env(args, overrides)

    import torch
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    result = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=platform.python_version(),
                               torch=torch.__version__), note='2 shared CPU cores; other work was running at the same time',
                  date=time.strftime('%Y-%m-%d %H:%M'))
    for part, skipped in (('speed', args.skip_sb3), ('steps_to_475', args.skip_target)):
        if skipped and part in old: result[part] = old[part]  # a skipped part keeps its previous results
    if not args.skip_sb3:
        print(f"Speed: CartPole-v1, {args.sps_steps:,} env steps per run, {args.repeats} runs each", flush=True)
        result['speed'] = speed(args)
    if not args.skip_target:
        print(f"Steps to a mean true return of 475 (10 episodes), seeds {args.seeds}", flush=True)
        runs = []
        for seed in args.seeds:
            r = steps_to_target(seed, eval_every=args.eval_every, max_steps=args.max_steps, **overrides)
            runs.append(r)
            fg = r['first_greedy']
            hg = r['held_greedy']
            print(f"  seed {seed}: greedy 475 at {fg['step'] if fg else '-'} steps ({fg['seconds'] if fg else '-'} s), "
                  f"held from {hg['step'] if hg else '-'}, "
                  f"sampled at {r['first_sampled']['step'] if r['first_sampled'] else '-'}; "
                  f"final greedy {r['final_greedy']:.1f}, sampled {r['final_sampled']:.1f}", flush=True)
        from rlhf_nb.ppo import PPOConfig
        from dataclasses import asdict
        result['steps_to_475'] = dict(config=asdict(PPOConfig.for_env('CartPole-v1', **overrides)),
                                      eval_every=args.eval_every, max_steps=args.max_steps, runs=runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + '\n')
    print_table(result)
    print(f"wrote {out}")


def other_env(args, overrides:dict):
    "The evaluation part on `args.env`; its results replace that env's entry in `envs` of the results file."
    from dataclasses import asdict
    from rlhf_nb.ppo import PPOConfig
    target = args.target if args.target is not None else TARGETS.get(args.env, float('inf'))
    print(f"{args.env}: PPO on the env reward, evaluated every {args.eval_every:,} steps (10 episodes), "
          f"target {target}, seeds {args.seeds}", flush=True)
    runs = []
    for seed in args.seeds:
        r = steps_to_target(seed, target=target, eval_every=args.eval_every, max_steps=args.max_steps,
                            env_id=args.env, **overrides)
        runs.append(r)
        fg = r['first_greedy']
        print(f"  seed {seed}: greedy >= {target} first at {fg['step'] if fg else '-'} steps; final at {r['final_step']:,}: "
              f"greedy {r['final_greedy']:.1f}, sampled {r['final_sampled']:.1f}; "
              f"{r['steps_per_cpu_second']:,} env steps per CPU second of training", flush=True)
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.exists() else {}
    result.setdefault('envs', {})[args.env] = dict(
        config=asdict(PPOConfig.for_env(args.env, **overrides)), target=target, eval_every=args.eval_every,
        max_steps=args.max_steps, date=time.strftime('%Y-%m-%d %H:%M'), runs=runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + '\n')
    print_env_table(args.env, result['envs'][args.env])
    print(f"wrote {out}")


def print_env_table(env_id:str, r:dict):
    steps = sorted({e['step'] for run in r['runs'] for e in run['evals']})
    print(f"\n| {env_id}, greedy evaluation mean | " + " | ".join(f"{s:,}" for s in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for run in r['runs']:
        by_step = {e['step']: e['greedy'] for e in run['evals']}
        print(f"| seed {run['seed']} | " + " | ".join(f"{by_step[s]:.0f}" if s in by_step else '' for s in steps) + " |")


def print_table(result:dict):
    if 'speed' in result:
        s = result['speed']
        print(f"\n| CartPole-v1 PPO, {s['steps']:,} steps, median of {s['repeats']} | env steps per CPU second "
              f"| env steps per wall second |\n|---|---|---|")
        print(f"| rlhf_nb (1 torch thread) | {s['rlhf_nb_cpu_sps']:,} | {s['rlhf_nb_sps']:,} |")
        print(f"| stable-baselines3 {s['sb3_version']} (1 torch thread) | {s['sb3_cpu_sps']:,} | {s['sb3_sps']:,} |")
        print(f"| **ratio rlhf_nb / sb3** | **{s['cpu_ratio']}x** | {s['ratio']}x |")
        print(f"| stable-baselines3, {s['sb3_all_threads']} torch threads (one run) | | {s['sb3_all_threads_sps']:,} |")
        print(f"| rlhf_nb, {s['rlhf_nb_all_threads']} torch threads (one run) | | {s['rlhf_nb_all_threads_sps']:,} |")
    if 'steps_to_475' in result:
        print("\n| seed | greedy eval >= 475 at step | train seconds to it | >= 475 at every later eval from | "
              "sampled eval >= 475 at step | final greedy | final sampled |")
        print("|---|---|---|---|---|---|---|")
        for r in result['steps_to_475']['runs']:
            fg, fs, hg = r['first_greedy'], r['first_sampled'], r['held_greedy']
            print(f"| {r['seed']} | {fg['step'] if fg else 'never'} | {fg['seconds'] if fg else '-'} | "
                  f"{hg['step'] if hg else 'never'} | {fs['step'] if fs else 'never'} | "
                  f"{r['final_greedy']:.1f} | {r['final_sampled']:.1f} |")


if __name__ == '__main__':
    main()
