"""Reward-model training speed, and uniform vs disagreement pair selection.

1. `epoch`: seconds per training epoch (3-member ensemble, every member one pass over its bootstrap of the training
   pairs, plus the validation pass) on 1,000 labeled pairs:
   - CartPole MLP on real random-policy clips (25 steps), torch threads 1 and 2 (a ratio within this run);
   - Atari CNN on (4, 84, 84) uint8 clips of random frames (timing does not depend on content), measured on
     fewer pairs (--atari-pairs, default 100) and scaled to 1,000 (epoch time is linear in pairs).
2. `selection`: `reward.selection_curve` with the oracle teacher on random-policy CartPole clips: accuracy on
   2,000 fresh pairs (decisive ones) and Pearson r on fresh clips after 10, 20, 40, 80 and 150 labels, for uniform
   and disagreement-selected pairs, over several seeds.
3. `train_time`: seconds for a whole `train_reward_model` (defaults: 3 members, early stopping) on 40 and 150 oracle-labeled
   CartPole pairs, 3 seeds each: `before` = the module as of commit bae0d5c (members one after another, minibatches of 32,
   lr 1e-3), `after` = the current one (all members in one step, full-batch, lr 3e-3); plus both models' accuracy on
   1,000 fresh decisive pairs and Pearson r on 600 fresh clips. `--train-time-only` runs just this part.
Writes: python bench/bench_reward.py [--quick] [--train-time-only]  ->  bench/results/reward.json + a table.
Timings depend on the machine and whatever else runs on it: read them as rough, compare ratios within one run.
"""
import argparse, importlib.util, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from rlhf_nb.clips import collect_segments, sample_pairs
from rlhf_nb.reward import Preferences, RewardConfig, selection_curve, train_reward_model
from rlhf_nb.teachers import make_teacher


def cartpole_prefs(n_pairs: int, seed: int = 0) -> Preferences:
    segs = collect_segments('CartPole-v1', n_segments=2 * n_pairs, seed=seed, frames=False)
    pairs = sample_pairs(segs, n_pairs, np.random.default_rng(seed))
    oracle = make_teacher('oracle')
    return Preferences.from_segments(segs, pairs, [oracle.label(segs[i], segs[j]) for i, j, *_ in pairs])


def atari_prefs(n_pairs: int, seed: int = 0, T: int = 25) -> Preferences:
    rng = np.random.default_rng(seed)
    S = 2 * n_pairs
    padding = np.arange(T)[None] >= rng.integers(5, T + 1, size=(S, 1))  # (S, T) some clips end early
    return Preferences(obs=rng.integers(0, 256, size=(S, T, 4, 84, 84), dtype=np.uint8),
                       actions=rng.integers(0, 6, size=(S, T)), padding=padding,
                       pairs=np.arange(S).reshape(n_pairs, 2), targets=rng.choice([0.0, 1.0, 0.5], size=n_pairs).astype(np.float32),
                       keys=np.arange(n_pairs))


def train_current(prefs: Preferences, seed: int = 0, **options):
    "The current `train_reward_model`, called like the one before (options as keywords, which become a `RewardConfig`)."
    return train_reward_model(prefs, RewardConfig(**options), seed=seed)


def seconds_per_epoch(prefs: Preferences, epochs: int, **options) -> float:
    "Wall time per epoch of a fixed number of epochs (no early stop), the initial validation pass excluded."
    t = time.perf_counter()
    _, m = train_current(prefs, max_epochs=epochs, patience=10**6, seed=0, **options)
    assert m['epochs'] == epochs
    return (time.perf_counter() - t) / epochs


BEFORE_COMMIT = 'bae0d5c'  # the reward module before the faster training


def reward_module_before():
    "rlhf_nb/reward.py as of BEFORE_COMMIT, imported as rlhf_nb._reward_before (None outside a git checkout)."
    root = Path(__file__).resolve().parent.parent
    try: src = subprocess.run(['git', 'show', f'{BEFORE_COMMIT}:rlhf_nb/reward.py'], cwd=root, capture_output=True, check=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError): return None
    path = Path(tempfile.mkdtemp()) / 'reward_before.py'
    path.write_text(src)
    spec = importlib.util.spec_from_file_location('rlhf_nb._reward_before', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def train_time(seeds=(0, 1, 2), sizes=(40, 150)) -> dict:
    "Seconds per whole training (mean over seeds), before and after, with fresh-clip quality; before/after in one run."
    test = collect_segments('CartPole-v1', n_segments=600, seed=1, frames=False)
    true_R = np.array([s.true_return for s in test])
    arrays = [np.stack([getattr(s, k) for s in test]) for k in ('obs', 'actions', 'padding')]
    i, j = np.random.default_rng(1).integers(len(test), size=(2, 1000))
    decisive = true_R[i] != true_R[j]
    before = reward_module_before()
    versions = {'after': train_current, **({'before': before.train_reward_model} if before else {})}
    out = {}
    for train in versions.values(): train(cartpole_prefs(10), seed=0, max_epochs=3)  # warm-up: first calls pay torch's setup
    for n in sizes:
        prefs = cartpole_prefs(n)
        for name, train in versions.items():
            secs, acc, r, epochs = [], [], [], []
            for seed in seeds:
                t = time.perf_counter()
                model, m = train(prefs, seed=seed)
                secs.append(time.perf_counter() - t)
                R = model.returns(*arrays)
                acc.append(float(((R[i] > R[j]) == (true_R[i] > true_R[j]))[decisive].mean()))
                r.append(float(np.corrcoef(R, true_R)[0, 1]))
                epochs.append(m['epochs'])
            out[f'{name}@{n}'] = dict(pairs=n, version=name, seconds=round(float(np.mean(secs)), 3), seeds=list(seeds),
                                      epochs=epochs, test_accuracy=round(float(np.mean(acc)), 4), pearson=round(float(np.mean(r)), 4))
        if before: out[f'speedup@{n}'] = round(out[f'before@{n}']['seconds'] / out[f'after@{n}']['seconds'], 2)
    return out


def print_train_time(tt: dict):
    print(f"{'train_reward_model':<20} {'pairs':>6} {'seconds':>8} {'epochs':>16} {'accuracy':>9} {'pearson':>8}   (mean of seeds)")
    for k, v in tt.items():
        if k.startswith('speedup'): print(f"{k:<20} {tt[k]:>6}x")
        else: print(f"{v['version']:<20} {v['pairs']:>6} {v['seconds']:>8.3f} {str(v['epochs']):>16} {v['test_accuracy']:>9.3f} {v['pearson']:>8.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='fewer epochs, seeds and pairs (a smoke run)')
    ap.add_argument('--atari-pairs', type=int, default=100)
    ap.add_argument('--train-time-only', action='store_true', help='only the before/after training time (updates that key)')
    args = ap.parse_args()
    out = Path(__file__).parent / 'results' / 'reward.json'
    if args.train_time_only:
        res = json.loads(out.read_text()) if out.exists() else {}
        res['train_time'] = train_time(seeds=(0,) if args.quick else (0, 1, 2))
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(res, indent=1) + '\n')
        print_train_time(res['train_time'])
        print(f"\nwrote {out}")
        return
    epochs, seeds = (2, (0,)) if args.quick else (5, (0, 1, 2))
    res = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), torch=torch.__version__), quick=args.quick)

    prefs = cartpole_prefs(1000)
    res['epoch'] = {}
    for threads in (1, 2):
        res['epoch'][f'cartpole_mlp_threads{threads}'] = dict(
            pairs=1000, seconds_per_epoch=round(seconds_per_epoch(prefs, epochs, threads=threads), 3), epochs=epochs)
    n = 20 if args.quick else args.atari_pairs
    a = atari_prefs(n)
    s = seconds_per_epoch(a, 1 if args.quick else 2, device='cpu', threads=torch.get_num_threads())
    res['epoch']['atari_cnn_cpu'] = dict(pairs=n, seconds_per_epoch=round(s, 3), seconds_per_epoch_1000_pairs=round(s * 1000 / n, 1),
                                         threads=torch.get_num_threads())

    budgets = (10, 20, 40, 80) if args.quick else (10, 20, 40, 80, 150)
    rows = [r for sel in ('uniform', 'disagreement') for seed in seeds
            for r in selection_curve(sel, budgets=budgets, seed=seed)]
    res['selection'] = dict(teacher='oracle', env_id='CartPole-v1', seeds=list(seeds), rows=rows, mean={})
    for sel in ('uniform', 'disagreement'):
        for b in budgets:
            rs = [r for r in rows if r['selection'] == sel and r['labels'] == b]
            res['selection']['mean'][f'{sel}@{b}'] = dict(
                test_accuracy=round(float(np.mean([r['test_accuracy'] for r in rs])), 4),
                min_test_accuracy=round(float(np.min([r['test_accuracy'] for r in rs])), 4),
                pearson=round(float(np.mean([r['pearson'] for r in rs])), 4),
                ties=round(float(np.mean([r['ties'] for r in rs])), 3))

    res['train_time'] = train_time(seeds=(0,) if args.quick else (0, 1, 2))
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')

    print(f"{'training epoch':<28} {'pairs':>6} {'s/epoch':>9} {'s/epoch @1000':>14}")
    for k, v in res['epoch'].items():
        print(f"{k:<28} {v['pairs']:>6} {v['seconds_per_epoch']:>9.3f} {v.get('seconds_per_epoch_1000_pairs', v['seconds_per_epoch']):>14.2f}")
    print(f"\n{'selection':<13} {'labels':>6} {'accuracy':>9} {'min acc':>8} {'pearson':>8} {'ties':>6}   (oracle, CartPole, seeds {list(seeds)})")
    for k, v in res['selection']['mean'].items():
        sel, b = k.split('@')
        print(f"{sel:<13} {b:>6} {v['test_accuracy']:>9.3f} {v['min_test_accuracy']:>8.3f} {v['pearson']:>8.3f} {v['ties']:>6.1%}")
    print()
    print_train_time(res['train_time'])
    print(f"\nwrote {out}")


if __name__ == '__main__':
    main()
