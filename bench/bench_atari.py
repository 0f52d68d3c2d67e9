"""Atari: env stepping and PPO speed side by side (gymnasium vs EnvPool, rlhf_nb vs CleanRL), and a Pong run.

    .venv/bin/python bench/bench_atari.py                          # (1) throughput, into bench/results/atari.json
    .venv/bin/python bench/bench_atari.py --full                   # (2) Pong: RLHF (oracle labels) and PPO on the env reward
    .venv/bin/python bench/bench_atari.py --full --preset cpu      # (2) at a budget two CPU cores finish in about 20 minutes
    .venv/bin/python bench/bench_atari.py --skip-cleanrl           # (1) without CleanRL

(1) Throughput, in one run, alternating, `--repeats` times each, with `cat /proc/loadavg` recorded before and after:
  - collection: 8 Pong envs, random actions, the same preprocessing (frame skip 4, max-pool, 84x84 grey, 4-frame
    stack, sticky actions 0.25, life loss ending the agent's episode): `make_vector_env(backend='gymnasium')`
    (gymnasium's synchronous vector env over `make_env`) against `make_vector_env(backend='envpool')` (the
    default for Atari), plus EnvPool alone (no wrapper: what the wrapper costs) and EnvPool on one thread
    (per core). Env steps per wall second and per CPU second of the process (EnvPool's threads included).
  - PPO on Pong: rlhf_nb's `PPO` with `PPOConfig.for_env('ALE/Pong-v5')` (8 envs x 128 steps, 4 epochs of 4
    minibatches: CleanRL's Atari settings) on the package's vector env, against CleanRL's `ppo_atari_envpool.py`
    with its defaults (the same settings) on `Pong-v5`, each in a fresh process, on the CPU. Timed from making
    the envs to the end of training, so both pay the same start-up. Once with torch's default threads (all
    cores: the target's setting) and once with one thread each (`--ppo-threads`): with one thread, steps per CPU
    second hardly depend on what else the machine runs, so that ratio is the robust one on a shared machine.
  CleanRL is not a dependency and none of its code is in this repository. Its script needs old packages (gym
  0.23 and EnvPool < 1 with the gym API, tyro, tensorboard), so this bench runs it from its own venv, made once
  (default /tmp/rlhf_nb_bench_cleanrl): torch==2.13.0 first (a CPU wheel, no CUDA packages), then
  numpy<2, envpool==0.8.4 (the oldest EnvPool with a wheel for this Python), gym==0.23.1, tyro, tensorboard. The
  script itself is read from `--cleanrl-script` (default <venv>/ppo_atari_envpool.py); get it with
      curl -o /tmp/rlhf_nb_bench_cleanrl/ppo_atari_envpool.py \\
        https://raw.githubusercontent.com/vwxyzjn/cleanrl/fe8d8a03c41a7ef5b523e2e354bd01c363e786bb/cleanrl/ppo_atari_envpool.py
  Targets (issue 16): the package's vector env >= 2x gymnasium's synchronous vector env; PPO >= 1.0x CleanRL.

(2) `--full`: on Pong, RLHF with the oracle teacher (synthetic labels from the true score) and PPO on the env
reward, one seed each: the true score of every training game and of the evaluations along the way, the labels
used by each env step, wall time. `--preset gpu` (the default) is the plan for one GPU and 16 cores in about ten
minutes for the RLHF run (see the Atari tutorial for the reasoning); `--preset cpu` is a budget this CPU finishes.
Any flag below overrides the preset. Results go into the same JSON (the other part's results are kept) and
the figure bench/results/atari.png.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'bench' / 'results' / 'atari.json'
FIGURE = ROOT / 'bench' / 'results' / 'atari.png'
CLEANRL_COMMIT = 'fe8d8a03c41a7ef5b523e2e354bd01c363e786bb'
CLEANRL_PACKAGES = ['numpy<2', 'envpool==0.8.4', 'gym==0.23.1', 'tyro', 'tensorboard']

# (2) budgets. gpu: one GPU, 16 cores, about ten minutes for the RLHF run (estimated, not measured: see the tutorial).
# cpu: what two CPU cores finish in about 20 minutes for both runs, one torch thread each (on busy cores
# a second thread mostly waits for the first).
PRESETS = dict(
    gpu=dict(total_timesteps=3_000_000, num_envs=32, label_budget=1_500, pretrain_pairs=300, round_steps=150_000,
             schedule_t0=1_500_000, eval_every=500_000, eval_episodes=3, selection='disagreement',
             reward_members=3, reward_epochs=30, reward_patience=5, reward_batch=128, threads=0),
    cpu=dict(total_timesteps=150_000, num_envs=8, label_budget=200, pretrain_pairs=100, round_steps=30_000,
             schedule_t0=75_000, eval_every=30_000, eval_episodes=2, selection='uniform',
             reward_members=1, reward_epochs=6, reward_patience=3, reward_batch=32, threads=1))


def loadavg() -> str:
    try: return Path('/proc/loadavg').read_text().strip()
    except OSError: return 'n/a'


# ---------------------------------------------------------------- (1) collection
def time_collection(make, steps:int, seed:int=0) -> dict:
    "Step `make()`'s vector env `steps` times with random actions; env steps per wall and per CPU second."
    envs = make()
    envs.reset(seed=seed)
    n, n_actions = envs.num_envs, int(envs.single_action_space.n)
    actions = np.random.default_rng(seed).integers(n_actions, size=(steps + 20, n))
    for a in actions[:20]: envs.step(a)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for a in actions[20:]: envs.step(a)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    envs.close()
    return dict(sps=steps * n / wall, cpu_sps=steps * n / cpu)


class _RawEnvPool:
    "EnvPool alone, with the same options: what the package's wrapper adds is the difference."
    def __init__(self, num_envs:int, num_threads:int=0):
        import envpool
        from rlhf_nb.envs import ENVPOOL_ATARI
        self.pool = envpool.make('Pong-v5', env_type='gymnasium', num_envs=num_envs, episodic_life=True,
                                 num_threads=num_threads, **ENVPOOL_ATARI)
        self.num_envs, self.single_action_space = num_envs, self.pool.action_space
    def reset(self, seed=None): return self.pool.reset()
    def step(self, a): return self.pool.step(np.asarray(a, dtype=np.int32))
    def close(self): self.pool.close()


def collection(args) -> dict:
    from rlhf_nb.envs import make_vector_env, EnvPoolVectorEnv, RecordGameStatistics
    kinds = {
        'gymnasium sync vector env': lambda: make_vector_env('ALE/Pong-v5', args.num_envs, backend='gymnasium'),
        'rlhf_nb vector env (EnvPool)': lambda: make_vector_env('ALE/Pong-v5', args.num_envs, backend='envpool'),
        'EnvPool alone': lambda: _RawEnvPool(args.num_envs),
        'rlhf_nb vector env (EnvPool, 1 thread)': lambda: RecordGameStatistics(EnvPoolVectorEnv('ALE/Pong-v5', args.num_envs, num_threads=1)),
    }
    runs = {k: [] for k in kinds}
    for rep in range(args.repeats):
        order = list(kinds) if rep % 2 == 0 else list(kinds)[::-1]
        for k in order:
            runs[k].append(time_collection(kinds[k], args.collect_steps, seed=rep))
            print(f"  collection {k:40} {runs[k][-1]['sps']:8,.0f} env steps/s, {runs[k][-1]['cpu_sps']:8,.0f} per CPU s", flush=True)
    med = {k: dict(sps=statistics.median(r['sps'] for r in v), cpu_sps=statistics.median(r['cpu_sps'] for r in v))
           for k, v in runs.items()}
    g, e = med['gymnasium sync vector env'], med['rlhf_nb vector env (EnvPool)']
    return dict(num_envs=args.num_envs, steps_per_run=args.collect_steps * args.num_envs, runs=runs, median=med,
                ratio_wall=e['sps'] / g['sps'], ratio_cpu=e['cpu_sps'] / g['cpu_sps'])


# ---------------------------------------------------------------- (1) PPO
OURS_SCRIPT = r'''
import json, sys, time
steps, seed, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import torch, envpool  # imported before the clock starts, as CleanRL's are
from rlhf_nb.ppo import PPO, PPOConfig
from rlhf_nb.envs import make_vector_env
if threads: torch.set_num_threads(threads)
wall, cpu = time.perf_counter(), time.process_time()
cfg = PPOConfig.for_env('ALE/Pong-v5', total_timesteps=steps, torch_threads=threads or None)
ppo = PPO(cfg, make_vector_env('ALE/Pong-v5', cfg.num_envs), seed=seed, device='cpu').learn(steps, progress=False)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps(dict(steps=ppo.global_step, seconds=wall, cpu_seconds=cpu, threads=torch.get_num_threads(),
                      own_sps=ppo.history[-1]['sps'])))
'''

CLEANRL_SCRIPT = r'''
import json, re, runpy, sys, time, io, contextlib
script, steps, seed, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
import torch, envpool, gym, tyro, torch.utils.tensorboard  # imported before the clock starts, as ours are
if threads: torch.set_num_threads(threads)
sys.argv = [script, '--env-id', 'Pong-v5', '--total-timesteps', str(steps), '--seed', str(seed), '--no-cuda']
out = io.StringIO()
wall, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(out): runpy.run_path(script, run_name='__main__')
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
sps = [int(s) for s in re.findall(r'SPS: (\d+)', out.getvalue())]
print(json.dumps(dict(steps=steps // 1024 * 1024, seconds=wall, cpu_seconds=cpu, threads=torch.get_num_threads(),
                      own_sps=sps[-1] if sps else None)))
'''


def cleanrl_python(venv:Path) -> Path:
    "The python of the CleanRL venv, made if missing (torch==2.13.0 first, so no CUDA build is ever pulled in)."
    py, stamp = venv / 'bin' / 'python', venv / '.cleanrl-deps'
    if not stamp.exists():
        print(f"making the CleanRL venv at {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
        pip = [str(py), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
        subprocess.run(pip + ['torch==2.13.0'], check=True)
        subprocess.run(pip + CLEANRL_PACKAGES, check=True)
        stamp.touch()
    return py


def _run(cmd, cwd=None) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    if r.returncode: raise RuntimeError(f"{cmd[:3]} failed:\n{r.stderr[-3000:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return dict(d, sps=d['steps'] / d['seconds'], cpu_sps=d['steps'] / d['cpu_seconds'])


def ppo_speed(args) -> dict:
    kinds = {}
    for t in args.ppo_threads:
        kinds[f'rlhf_nb PPO, threads={t or "default"}'] = lambda seed, t=t: _run(
            [sys.executable, '-c', OURS_SCRIPT, str(args.ppo_steps), str(seed), str(t)])
    skipped = None
    if args.skip_cleanrl: skipped = 'skipped (--skip-cleanrl)'
    elif not Path(args.cleanrl_script).exists():
        skipped = f"no CleanRL script at {args.cleanrl_script}: see this file's docstring for where to get it"
    else:
        py, work = cleanrl_python(Path(args.cleanrl_venv)), tempfile.mkdtemp(prefix='cleanrl_runs_')  # its tensorboard logs go there
        for t in args.ppo_threads:
            kinds[f'CleanRL ppo_atari_envpool.py, threads={t or "default"}'] = lambda seed, t=t: _run(
                [str(py), '-c', CLEANRL_SCRIPT, str(Path(args.cleanrl_script).resolve()), str(args.ppo_steps), str(seed), str(t)], cwd=work)
    if skipped: print(f"  CleanRL: {skipped}", flush=True)
    runs = {k: [] for k in kinds}
    order = [k for t in args.ppo_threads for k in kinds if k.endswith(f'threads={t or "default"}')]  # A/B pairs per setting
    for rep in range(args.repeats):
        for k in (order if rep % 2 == 0 else order[::-1]):
            runs[k].append(kinds[k](rep + 1))
            r = runs[k][-1]
            print(f"  PPO {k:45} {r['sps']:6.0f} env steps/s ({r['own_sps']} by its own count), {r['cpu_sps']:6.0f} per CPU s, "
                  f"{r['threads']} torch threads", flush=True)
    med = {k: dict(sps=statistics.median(r['sps'] for r in v), cpu_sps=statistics.median(r['cpu_sps'] for r in v))
           for k, v in runs.items()}
    out = dict(steps_per_run=args.ppo_steps, runs=runs, median=med, cleanrl=skipped or dict(
        commit=CLEANRL_COMMIT, script='cleanrl/ppo_atari_envpool.py', packages=['torch==2.13.0'] + CLEANRL_PACKAGES))
    ratios = {}
    for t in args.ppo_threads:
        o, c = (med.get(f'{lib}, threads={t or "default"}') for lib in ('rlhf_nb PPO', 'CleanRL ppo_atari_envpool.py'))
        if o and c: ratios[f'threads={t or "default"}'] = dict(wall=o['sps'] / c['sps'], cpu=o['cpu_sps'] / c['cpu_sps'])
    return dict(out, ratios=ratios)


# ---------------------------------------------------------------- (2) the Pong run
def _jsonl(path:Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def pong_run(store, name:str, reward:str, b:dict, seed:int) -> dict:
    "One Pong run (RLHF or PPO on the env reward) with budget `b`; its curves, labels and wall time."
    from rlhf_nb.rlhf import RLHF, RLHFConfig, label_schedule
    from rlhf_nb.reward import RewardConfig
    cfg = RLHFConfig.for_env(
        'ALE/Pong-v5', reward=reward, teacher='oracle', seed=seed, total_timesteps=b['total_timesteps'],
        label_budget=b['label_budget'], pretrain_pairs=b['pretrain_pairs'], round_steps=b['round_steps'],
        schedule_t0=b['schedule_t0'], eval_every=b['eval_every'], eval_episodes=b['eval_episodes'],
        selection=b['selection'], ppo=dict(num_envs=b['num_envs'], torch_threads=b['threads'] or None),
        reward_train=RewardConfig(n_members=b['reward_members'], max_epochs=b['reward_epochs'],
                                  patience=b['reward_patience'], batch_size=b['reward_batch'], threads=b['threads'] or None))
    print(f"\n== {name}: PPO on the {'learned' if reward == 'learned' else 'env'} reward, {cfg.total_timesteps:,} env steps ==", flush=True)
    result = RLHF(name, cfg, store=store, progress=True).run()
    d = store.run_dir(name)
    games = [[m['global_step'], r] for m in _jsonl(d / 'metrics.jsonl') for r in m['true_returns']]
    evals = [[e['global_step'], e['true_return_mean'], e['true_return_std']] for e in _jsonl(d / 'evals.jsonl')]
    labels = []
    if reward == 'learned':
        steps = {0: 0, **{k: s for k, (s, _) in enumerate(label_schedule(cfg), 1)}}
        per_round = {}
        for p in store.pairs(name): per_round[p['iteration']] = per_round.get(p['iteration'], 0) + 1
        total = 0
        for k in sorted(per_round): total += per_round[k]; labels.append([steps.get(k, 0), total])
        labels.append([result['global_step'], total])  # held to the end of the run
    return dict(name=name, reward=reward, config=dict(total_timesteps=cfg.total_timesteps, label_budget=cfg.label_budget,
                pretrain_pairs=cfg.pretrain_pairs, round_steps=cfg.round_steps, schedule_t0=cfg.schedule_t0,
                selection=cfg.selection, num_envs=b['num_envs'], threads=b['threads'], reward_train=dict(n_members=b['reward_members'],
                max_epochs=b['reward_epochs'], patience=b['reward_patience'], batch_size=b['reward_batch'])),
                result=result, games=games, evals=evals, labels=labels, reward_models=reward_models(store, name))


def reward_models(store, name:str) -> list[dict]:
    "Each reward model of run `name`: its round, labels, held-out accuracy and training seconds."
    keep = ('n_pairs', 'val_accuracy', 'n_val_decisive', 'train_accuracy', 'epochs', 'seconds')
    return [dict(iteration=m['iteration'], **{k: m.get('metrics', {}).get(k) for k in keep}) for m in store.models(name, 'reward')]


def plot(full:dict, path:Path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.2))
    colors = {'learned': 'C0', 'env': 'C1'}
    names = {'learned': 'RLHF, oracle labels', 'env': 'PPO, env reward'}
    for run in full['runs']:
        c, g = colors[run['reward']], np.array(run['games']).reshape(-1, 2)
        if len(g):
            ax.plot(g[:, 0], g[:, 1], '.', color=c, alpha=0.25, ms=4)
            k = max(1, min(10, len(g) // 5))
            ax.plot(g[k - 1:, 0], np.convolve(g[:, 1], np.ones(k) / k, 'valid'), color=c,
                    label=f"{names[run['reward']]}: training games ({k}-game mean)")
        e = np.array(run['evals']).reshape(-1, 3)
        if len(e): ax.errorbar(e[:, 0], e[:, 1], e[:, 2], fmt='s', color=c, ms=5, capsize=3, label=f"{names[run['reward']]}: evaluation")
    best = max([s for run in full['runs'] for _, s in run['games']] + [-21])
    ax.axhline(-21, color='grey', lw=0.8, ls=':'); ax.set_ylim(-21.5, 21.5 if best > -5 else -10)  # zoom in while nothing is learned
    ax.set(xlabel='env steps', ylabel='true score of a game (-21 to +21)')
    rl = [r for r in full['runs'] if r['reward'] == 'learned']
    if rl and rl[0]['labels']:
        ax2 = ax.twinx()
        lab = np.array(rl[0]['labels'])
        ax2.step(lab[:, 0], lab[:, 1], where='post', color='C2', lw=1.2, label='labels used (RLHF)')
        ax2.set_ylabel('labels used', color='C2'); ax2.set_ylim(0, max(lab[:, 1]) * 1.1)
        ax2.legend(loc='lower right', fontsize=7)
    ax.legend(loc='upper left', fontsize=7)
    ax.set_title(f"Pong, {full['preset']} budget: {full['budget']['total_timesteps']:,} env steps, "
                 f"{full['budget']['label_budget']:,} labels at most", fontsize=10)
    fig.tight_layout(); fig.savefig(path, dpi=100)


def full_run(args) -> dict:
    from rlhf_nb.store import Store
    b = {**PRESETS[args.preset], **{k: v for k, v in vars(args).items() if k in PRESETS['gpu'] and v is not None}}
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix='bench_atari_'))
    store = Store(home)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    runs, wall = [], time.perf_counter()
    for reward in ('learned',) + (() if args.skip_env else ('env',)):
        runs.append(pong_run(store, f"pong-{'rlhf' if reward == 'learned' else 'env'}-{stamp}", reward, b, args.seed))
        r = runs[-1]['result']
        print(f"{runs[-1]['name']}: true return {r['true_return_mean']:+.1f} ± {r['true_return_std']:.1f} after "
              f"{r['global_step']:,} env steps, {r['labels']} labels, {r['seconds']:.0f} s", flush=True)
    return dict(preset=args.preset, budget=b, seed=args.seed, home=str(home), runs=runs,
                seconds=round(time.perf_counter() - wall, 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--full', action='store_true', help='(2) the Pong runs instead of (1) the throughput')
    p.add_argument('--repeats', type=int, default=3, help='(1) runs of each kind, alternating')
    p.add_argument('--num-envs', type=int, default=None, help='(1) envs stepped together (8); (2) PPO envs (preset)')
    p.add_argument('--collect-steps', type=int, default=1500, help='(1) vector steps per collection run')
    p.add_argument('--ppo-steps', type=int, default=8192, help='(1) env steps per PPO run')
    p.add_argument('--ppo-threads', type=int, nargs='+', default=[0, 1],
                   help="(1) torch threads of both PPOs, one comparison each (0: torch's default, all cores)")
    p.add_argument('--skip-cleanrl', action='store_true')
    p.add_argument('--cleanrl-venv', default='/tmp/rlhf_nb_bench_cleanrl')
    p.add_argument('--cleanrl-script', default=None, help='CleanRL ppo_atari_envpool.py (default <venv>/ppo_atari_envpool.py)')
    p.add_argument('--preset', choices=sorted(PRESETS), default='gpu', help='(2) budget')
    for k in ('total_timesteps', 'label_budget', 'pretrain_pairs', 'round_steps', 'schedule_t0', 'eval_every',
              'eval_episodes', 'reward_members', 'reward_epochs', 'reward_patience', 'reward_batch', 'threads'):
        p.add_argument('--' + k.replace('_', '-'), type=int, default=None, help='(2) overrides the preset')
    p.add_argument('--selection', choices=['uniform', 'disagreement'], default=None, help='(2) overrides the preset')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--skip-env', action='store_true', help='(2) only the RLHF run')
    p.add_argument('--home', default=None, help='(2) data home for the runs (default: a temporary folder)')
    p.add_argument('--out', default=str(RESULTS))
    args = p.parse_args()
    args.cleanrl_script = args.cleanrl_script or str(Path(args.cleanrl_venv) / 'ppo_atari_envpool.py')
    out_path = Path(args.out)
    result = json.loads(out_path.read_text()) if out_path.exists() else dict(bench='atari')
    import torch
    machine = dict(cpu=platform.processor() or platform.machine(), cores=len(os.sched_getaffinity(0)),
                   gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None, torch=torch.__version__)
    before = loadavg()
    if args.full:
        full = full_run(args)
        result['full'] = dict(full, date=time.strftime('%Y-%m-%d'), machine=machine, loadavg=[before, loadavg()],
                              command=' '.join(['python', *sys.argv]))
        plot(result['full'], FIGURE if args.out == str(RESULTS) else out_path.with_suffix('.png'))
    else:
        args.num_envs = args.num_envs or 8
        print(f"loadavg {before}", flush=True)
        coll = collection(args)
        ppo = ppo_speed(args)
        result['throughput'] = dict(date=time.strftime('%Y-%m-%d'), machine=machine, loadavg=[before, loadavg()],
                                    command=' '.join(['python', *sys.argv]), collection=coll, ppo=ppo)
        print(f"\nloadavg before {before}, after {loadavg()}")
        for k, v in coll['median'].items(): print(f"collection {k:40} {v['sps']:8,.0f} env steps/s {v['cpu_sps']:8,.0f} per CPU s")
        print(f"EnvPool / gymnasium: {coll['ratio_wall']:.2f}x per wall second, {coll['ratio_cpu']:.2f}x per CPU second (target 2x)")
        for k, v in ppo['median'].items(): print(f"PPO {k:45} {v['sps']:6.0f} env steps/s {v['cpu_sps']:6.0f} per CPU s")
        for k, r in ppo['ratios'].items():
            print(f"rlhf_nb / CleanRL, {k}: {r['wall']:.2f}x per wall second, {r['cpu']:.2f}x per CPU second (target 1.0x)")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + '\n')


if __name__ == '__main__':
    main()
