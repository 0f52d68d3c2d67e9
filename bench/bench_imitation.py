"""imitation's preference comparisons on Pendulum-v1, the baseline beside our RLHF: same label budget and env steps.

    .venv/bin/python bench/bench_imitation.py                       # 5 seeds, 100 labels, 200,000 env steps
    .venv/bin/python bench/bench_imitation.py --seeds 1 --labels 20 --steps 10000   # a smoke test, not a result
    .venv/bin/python bench/bench_imitation.py [--seeds 5] [--labels 100] [--steps 200000] [--venv DIR] [--out PATH]

For each seed (0, 1, ...; one after another), imitation's `PreferenceComparisons` (its Python API, not its sacred
scripts) trains a `BasicRewardNet` from `--labels` synthetic comparisons of 100-step fragments and an SB3 PPO agent on
the learned reward for `--steps` env steps (`train(total_timesteps=steps, total_comparisons=labels)`), with the
settings imitation tuned for Pendulum (`SETTINGS`, `SOURCES`). The teacher prefers the fragment with the higher true
return, deterministically, like rlhf_nb's oracle teacher: `SyntheticGatherer(temperature=0)` (with imitation's default
temperature=1, `sample=False` alone would give the soft label sigmoid(R1 - R2), and `sample=True` a Boltzmann draw).

The result of a seed is its final policy's true return, measured exactly as `rlhf_nb.ppo.evaluate_policy` does:
deterministic actions, 10 episodes, episode i from `env.reset(seed=10_000 + i)` of a fresh `gymnasium.make`, the
return the sum of the env's rewards (Pendulum-v1: 200 steps, no early end).

Env steps are counted as imitation counts them, and reported as taken: `env_steps` is what the agent trained on,
`env_steps_total` every step of the training envs. `train` trains the agent num_iterations + 1 times (after the first
labels, then after each iteration's) for total_timesteps // num_iterations steps each, and SB3 rounds each up to whole
2,048-step rollouts: at 200,000 steps and 60 iterations, 61 x 3,333 asked, 61 x 4,096 = 249,856 trained. Sampling
fragments outside training (the first labels, and the exploration rollouts, which run every env to the end of its
episode) adds about 100,000 more: 350,656 in all.

imitation runs in its own virtual environment, made by this script (default /tmp/rlhf_nb_bench_imitation):
torch==2.13.0 first (a CPU wheel, no CUDA packages), then `PACKAGES` with torch pinned in the same command. It is
never a dependency of rlhf_nb, nor imported in rlhf_nb's venv. imitation 1.0.1 needs gymnasium 0.29 where rlhf_nb has
gymnasium 1.x: `same_pendulum` checks that Pendulum-v1 gives the same first observations and the same returns for a
fixed action sequence in both (recorded in the results). One torch thread per run, like our runs.

`imitation_python(venv)` and `run_imitation(py, seed, labels, steps)` are what `bench_suite.py` imports to run this
beside our RLHF in the same benchmark run. Results: bench/results/imitation_pendulum.json.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

from venvs import baseline_python

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'bench' / 'results' / 'imitation_pendulum.json'
VENV = '/tmp/rlhf_nb_bench_imitation'
IMITATION_VERSION = '1.0.1'
# imitation 1.0.1's own pins (gymnasium~=0.29, stable-baselines3~=2.2.1, seals~=0.2.1), made exact; numpy<2 because
# gymnasium 0.29's env checker uses np.bool8, which numpy 2 removed.
PACKAGES = [f'imitation=={IMITATION_VERSION}', 'stable-baselines3==2.2.1', 'gymnasium==0.29.1', 'seals==0.2.1',
            'numpy<2']

# Where the settings come from. imitation tuned its Pendulum preference-comparisons example in PR #771 (merged as
# PR #782, commit cb93fb0): 100 runs at 200 comparisons and 50,000 env steps, mean final return about -196 (79 of 100
# runs above -200). The values are those of the example as it stands in the repository at tag v1.0.1.
SOURCES = dict(
    repo='HumanCompatibleAI/imitation', tag='v1.0.1', commit='e5ef18806c449ca47153b494a02471c5e2ae3a14',
    file='docs/algorithms/preference_comparisons.rst (the Example section)',
    tuned_in='cb93fb0583987fcc5c77314f146df3acba406f83 "Complete PR #771 (Tune preference comparison example '
             'hyperparameters) (#782)"',
    num_iterations="60: the example runs 5 with the comment 'Set to 60 for better performance', and 60 is the tuned "
                   "value in the PR's message",
    pr_message_differs="the configuration the PR's message says it selected has gae_lambda 0.90 and 15 PPO epochs; "
                       "the example it committed has gae_lambda 0.95 and 10 epochs: we use the committed example",
    defaults="fragment_length, transition_oversampling, the reward trainer's batch size and lr, the reward net's layers "
             "and n_envs are imitation 1.0.1's defaults, which the example keeps",
    tuned_for_more_labels="tuned at 200 comparisons; at 100 labels the hyperbolic schedule gives 10 first, then 1 or 2 "
                          "per iteration over 60 iterations (kept as tuned)",
)
SETTINGS = dict(
    env_id='Pendulum-v1', n_envs=8,  # imitation.util.util.make_vec_env's default, as in the example
    policy='FeedForward32Policy, NormalizeFeaturesExtractor(RunningNorm)',
    ppo=dict(n_steps=2048 // 8, batch_size=64, clip_range=0.1, ent_coef=0.01, gae_lambda=0.95, n_epochs=10,
             gamma=0.97, learning_rate=2e-3),
    reward_net='BasicRewardNet(normalize_input_layer=RunningNorm)', reward_epochs=10,
    num_iterations=60, initial_comparison_frac=0.1, initial_epoch_multiplier=4, query_schedule='hyperbolic',
    exploration_frac=0.05, fragment_length=100, transition_oversampling=1, fragmenter_warning_threshold=0,
    # not the example's (its SyntheticGatherer(rng=rng) has temperature=1, sample=True: Boltzmann-noisy labels): the
    # oracle teacher of rlhf_nb's runs, the higher true return preferred, 0.5 for an exact tie
    gatherer=dict(temperature=0, sample=False),
)

IMITATION_SCRIPT = r'''
import json, sys, tempfile, time
seed, labels, steps, eval_seed, episodes = (int(a) for a in sys.argv[1:6])
s = json.loads(sys.argv[6])
import numpy as np, torch
torch.set_num_threads(1)
import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed
import imitation
from imitation.algorithms import preference_comparisons as pc
from imitation.policies.base import FeedForward32Policy, NormalizeFeaturesExtractor
from imitation.rewards.reward_nets import BasicRewardNet
from imitation.util import logger as imit_logger
from imitation.util.networks import RunningNorm
from imitation.util.util import make_vec_env

env_steps = [0]  # every step of every training env: the agent's and those taken to sample fragments
class CountSteps(gym.Wrapper):
    def step(self, action):
        env_steps[0] += 1
        return self.env.step(action)

start = time.perf_counter()
set_random_seed(seed)
rng = np.random.default_rng(seed)
venv = make_vec_env(s['env_id'], rng=rng, n_envs=s['n_envs'], post_wrappers=[lambda env, i: CountSteps(env)])
reward_net = BasicRewardNet(venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm)
fragmenter = pc.RandomFragmenter(warning_threshold=s['fragmenter_warning_threshold'], rng=rng)
gatherer = pc.SyntheticGatherer(rng=rng, **s['gatherer'])
preference_model = pc.PreferenceModel(reward_net)
reward_trainer = pc.BasicRewardTrainer(preference_model=preference_model, loss=pc.CrossEntropyRewardLoss(),
                                       epochs=s['reward_epochs'], rng=rng)
agent = PPO(policy=FeedForward32Policy, env=venv, seed=seed, device='cpu', verbose=0,
            policy_kwargs=dict(features_extractor_class=NormalizeFeaturesExtractor,
                               features_extractor_kwargs=dict(normalize_class=RunningNorm)), **s['ppo'])
trajectory_generator = pc.AgentTrainer(algorithm=agent, reward_fn=reward_net, venv=venv,
                                       exploration_frac=s['exploration_frac'], rng=rng)
# every iteration must ask for at least one comparison (the fragmenter fails on none): only matters below ~70 labels
initial = int(labels * s['initial_comparison_frac'])
num_iterations = min(s['num_iterations'], labels - initial)
with tempfile.TemporaryDirectory() as log_dir:
    prefs = pc.PreferenceComparisons(
        trajectory_generator, reward_net, num_iterations=num_iterations, fragmenter=fragmenter,
        preference_gatherer=gatherer, reward_trainer=reward_trainer, fragment_length=s['fragment_length'],
        transition_oversampling=s['transition_oversampling'], initial_comparison_frac=s['initial_comparison_frac'],
        initial_epoch_multiplier=s['initial_epoch_multiplier'], query_schedule=s['query_schedule'],
        custom_logger=imit_logger.configure(log_dir, format_strs=[]))
    metrics = prefs.train(total_timesteps=steps, total_comparisons=labels)
train_seconds = time.perf_counter() - start

# the final policy's true return, as rlhf_nb.ppo.evaluate_policy measures it
env = gym.make(s['env_id'])
returns = []
for i in range(episodes):
    obs, _ = env.reset(seed=eval_seed + i)
    total, done = 0.0, False
    while not done:
        action, _ = agent.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    returns.append(total)
print('RESULT ' + json.dumps(dict(
    returns=returns, labels=len(prefs.dataset), env_steps=int(agent.num_timesteps), env_steps_total=env_steps[0],
    num_iterations=num_iterations, train_seconds=train_seconds, reward_accuracy=metrics['reward_accuracy'],
    threads=torch.get_num_threads(), imitation=imitation.__version__)))
'''


def imitation_python(venv:str|Path=VENV) -> Path:
    "The python of a venv holding imitation (`PACKAGES`), made if missing."
    return baseline_python(venv, PACKAGES, f'imitation-{IMITATION_VERSION}')


def run_imitation(py:str|Path, seed:int, labels:int, steps:int, eval_seed:int=10_000, episodes:int=10,
                  settings:dict|None=None) -> dict:
    "One seed of imitation's preference comparisons on Pendulum-v1, in a process of the venv of `py`: the final policy's true return."
    settings = SETTINGS if settings is None else settings
    start = time.perf_counter()
    out = subprocess.run([str(py), '-c', IMITATION_SCRIPT, str(seed), str(labels), str(steps), str(eval_seed),
                          str(episodes), json.dumps(settings)],
                         capture_output=True, text=True, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    lines = [l for l in out.stdout.splitlines() if l.startswith('RESULT ')]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"imitation run (seed {seed}) failed with exit code {out.returncode}:\n{out.stderr[-3000:]}")
    r = json.loads(lines[-1][len('RESULT '):])
    return dict(seed=seed, final_return=statistics.mean(r['returns']), returns=r['returns'], labels=r['labels'],
                env_steps=r['env_steps'], env_steps_total=r['env_steps_total'], seconds=time.perf_counter() - start,
                train_seconds=r['train_seconds'], reward_accuracy=r['reward_accuracy'],
                settings=dict(settings, num_iterations=r['num_iterations'], torch_threads=r['threads'],
                              eval_seed=eval_seed, episodes=episodes, labels=labels, total_timesteps=steps),
                imitation=r['imitation'])


PENDULUM_SCRIPT = r'''
import json, math, gymnasium as gym, numpy as np
env = gym.make('Pendulum-v1')
firsts, returns, lengths, finals = [], [], [], []
for i in range(10):
    obs, _ = env.reset(seed=10_000 + i)
    firsts.append(obs.tolist())
    total, t, done = 0.0, 0, False
    while not done:  # a fixed sequence of torques, some beyond the bounds (the env clips them to [-2, 2])
        obs, reward, terminated, truncated, _ = env.step(np.array([3.0 * math.sin(0.05 * t + i)], np.float32))
        total += float(reward); t += 1
        done = terminated or truncated
    returns.append(total); lengths.append(t); finals.append(obs.tolist())
print(json.dumps(dict(gymnasium=gym.__version__, numpy=np.__version__, max_episode_steps=env.spec.max_episode_steps,
                      first_obs=firsts, returns=returns, lengths=lengths, final_obs=finals)))
'''


def same_pendulum(py:str|Path) -> dict:
    "Does Pendulum-v1 behave the same in the venv of `py` as here? First observations, returns and lengths of 10 episodes."
    def run(python, prelude=''):
        out = subprocess.run([str(python), '-c', prelude + PENDULUM_SCRIPT], check=True, capture_output=True, text=True,
                             env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
        return json.loads(out.stdout.strip().splitlines()[-1])
    def diff(a, b, key):
        flat = lambda v: [u for x in v for u in (x if isinstance(x, list) else [x])]
        return max(abs(x - y) for x, y in zip(flat(a[key]), flat(b[key])))
    ours, theirs = run(sys.executable), run(py)
    d = {k: diff(ours, theirs, k) for k in ('first_obs', 'returns', 'final_obs')}
    # Pendulum's dynamics and reward code is the same in gymnasium 0.29 and 1.x; numpy 2 keeps float32 arithmetic with
    # Python floats in float32 (NEP 50) where numpy 1 went to float64, so the returns differ in float32's last digits.
    # numpy 1's `_set_promotion_state('weak')` (numpy 2's rule) must then make them identical.
    weak = None
    if theirs['numpy'].startswith('1.') and not ours['numpy'].startswith('1.'):
        w = run(py, "import numpy; numpy._set_promotion_state('weak')\n")
        weak = all(w[k] == ours[k] for k in ('first_obs', 'returns', 'final_obs', 'lengths'))
    rel = max(abs(a - b) / abs(a) for a, b in zip(ours['returns'], theirs['returns']))
    same = (d['first_obs'] == 0 and rel < 1e-5 and ours['lengths'] == theirs['lengths']
            and ours['max_episode_steps'] == theirs['max_episode_steps'])
    return dict(same=same, identical=all(ours[k] == theirs[k] for k in ('first_obs', 'returns', 'final_obs')),
                identical_with_numpy2_promotion=weak, max_abs_diff=d, max_rel_diff_returns=rel, lengths=ours['lengths'],
                returns=ours['returns'], gymnasium=dict(rlhf_nb=ours['gymnasium'], imitation=theirs['gymnasium']),
                numpy=dict(rlhf_nb=ours['numpy'], imitation=theirs['numpy']),
                check='reset(seed=10_000 + i) and 200 steps of torque 3 sin(0.05 t + i), i < 10, in both venvs; '
                      'same: identical first observations, equal lengths, returns within a relative 1e-5')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=5, help='seeds 0 .. N-1, one after another')
    p.add_argument('--labels', type=int, default=100, help='comparisons (total_comparisons)')
    p.add_argument('--steps', type=int, default=200_000, help='env steps (total_timesteps)')
    p.add_argument('--venv', default=VENV, help="imitation's virtual environment (made if missing)")
    p.add_argument('--out', default=str(RESULTS))
    args = p.parse_args(argv)
    from rlhf_nb.core import atomic_write
    py = imitation_python(args.venv)
    check = same_pendulum(py)
    print(f"Pendulum-v1, gymnasium {check['gymnasium']['rlhf_nb']} (rlhf_nb) and {check['gymnasium']['imitation']} "
          f"(imitation): {'the same' if check['same'] else 'DIFFERENT'}, returns within a relative "
          f"{check['max_rel_diff_returns']:.1e}", flush=True)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or None
    versions = subprocess.run([str(py), '-c', 'import imitation, stable_baselines3, gymnasium, torch, numpy, json; '
                               'print(json.dumps({m.__name__: m.__version__ for m in (imitation, stable_baselines3, '
                               'gymnasium, torch, numpy)}))'], capture_output=True, text=True, check=True,
                              env={**os.environ, 'PYTHONWARNINGS': 'ignore'}).stdout.strip().splitlines()[-1]
    out = dict(date=time.strftime('%Y-%m-%d %H:%M'), commit=commit,
               command=' '.join([Path(sys.executable).name, *sys.argv]), args=vars(args),
               machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=platform.python_version()),
               packages=json.loads(versions), install=['torch==2.13.0'] + PACKAGES,
               settings=SETTINGS, sources=SOURCES, same_pendulum=check, runs=[], complete=False)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"imitation {IMITATION_VERSION} preference comparisons, Pendulum-v1, {args.labels} labels, {args.steps:,} env "
          f"steps, seeds 0-{args.seeds - 1}", flush=True)
    for seed in range(args.seeds):
        r = run_imitation(py, seed, args.labels, args.steps)
        out['runs'].append(r)
        finals = [r['final_return'] for r in out['runs']]
        out.update(mean=statistics.mean(finals), stdev=statistics.stdev(finals) if len(finals) > 1 else None,
                   complete=len(finals) == args.seeds)
        with atomic_write(path, fsync=False) as tmp: tmp.write_text(json.dumps(out, indent=1) + '\n')  # after each seed
        print(f"  seed {seed}: final return {r['final_return']:.1f} ({r['labels']} labels, {r['env_steps']:,} env steps "
              f"trained, {r['env_steps_total']:,} in all), {r['seconds']:.0f} s", flush=True)
    print(f"\n| seed | final return (10 episodes) | labels | env steps trained | env steps in all | seconds |")
    print("|---|---|---|---|---|---|")
    for r in out['runs']:
        print(f"| {r['seed']} | {r['final_return']:.1f} | {r['labels']} | {r['env_steps']:,} | {r['env_steps_total']:,} "
              f"| {r['seconds']:.0f} |")
    sd = f" ± {out['stdev']:.1f}" if out['stdev'] is not None else ''
    print(f"| **mean** | **{out['mean']:.1f}**{sd} | | | | |")
    print(f"wrote {path}")


if __name__ == '__main__':
    main()
