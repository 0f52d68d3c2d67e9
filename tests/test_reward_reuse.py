"""A learned reward outside rlhf_nb: a model file copied elsewhere and loaded in a fresh process, an env spec rebuilt
from JSON by a process that only imports gymnasium, stable-baselines3 training on the learned reward, and a model file
saved by an earlier version of rlhf_nb loading as it did."""
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

import numpy as np
import pytest

ACTIONS = [(t // 3) % 2 for t in range(120)]  # keeps the pole up for a while, then lets it fall: a few episodes

STEP_SCRIPT = """
import json, sys
import gymnasium as gym
def run(env, actions):
    env.reset(seed=0)
    out = []
    for a in actions:
        _, r, terminated, truncated, info = env.step(a)
        out.append([float(r), float(info['true_reward'])])
        if terminated or truncated: env.reset()
    return out
"""


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A data home holding run 'r': 30 oracle-labeled pairs of random CartPole clips and its first reward model."
    from rlhf_nb.store import Store
    from rlhf_nb.clips import collect_pairs
    from rlhf_nb.teachers import make_teacher, label_pending
    from rlhf_nb.reward import pretrain_reward
    store = Store(tmp_path_factory.mktemp('home') / 'test')
    collect_pairs(store, 'r', n_pairs=30, seed=0, videos=False)
    label_pending(store, 'r', make_teacher('oracle'))
    return store, pretrain_reward(store, 'r')


def _steps(env):
    "(learned, true) reward of each step of `ACTIONS` from seed 0, as the subprocess scripts compute them."
    scope = {}
    exec(STEP_SCRIPT, scope)
    return scope['run'](env, ACTIONS)


def _python(script, stdin='', home=None):
    env = {**os.environ, **({'RLHF_NB_HOME': str(home)} if home else {})}
    r = subprocess.run([sys.executable, '-c', script], input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_copied_model_rewards_the_same_in_a_fresh_process(run, tmp_path):
    "Copied out of the data home, which is then moved away, the model file alone gives the run's rewards in a new process."
    from rlhf_nb.reward import RewardModel, learned_reward_env
    store, record = run
    env = learned_reward_env('r', store=store)
    expected = _steps(env)
    env.close()
    probe = np.random.default_rng(0).normal(scale=0.2, size=(32, 4)).astype(np.float32)
    expected_probe = RewardModel.load(record['path']).reward(probe).tolist()
    assert len({r for r, _ in expected}) > 10  # the learned reward varies: agreeing is not trivial

    home = tmp_path / 'copy' / 'home'
    shipped = tmp_path / 'elsewhere' / 'reward.pt'
    shipped.parent.mkdir()
    shutil.copy(record['path'], shipped)
    hidden = store.home.with_name('hidden')
    store.home.rename(hidden)  # no store, no run while the other process runs: only the copied file
    try:
        got = _python(STEP_SCRIPT + f"""
import numpy as np
from rlhf_nb.reward import RewardModel, learned_reward_env
env = learned_reward_env({str(shipped)!r})  # the env id is saved in the file
model = RewardModel.load({str(shipped)!r})
probe = np.array(json.loads(sys.stdin.read()), dtype=np.float32)
print(json.dumps(dict(env_id=env.spec.id, steps=run(env, {ACTIONS!r}), probe=model.reward(probe).tolist())))
""", stdin=json.dumps(probe.tolist()), home=home)
    finally: hidden.rename(store.home)  # the other tests share the run
    assert got['env_id'] == 'CartPole-v1'
    assert got['steps'] == expected  # exactly: same weights, same normalization, same arithmetic
    assert got['probe'] == expected_probe
    assert not home.exists()  # loading a shipped model never touched a data home


def test_spec_json_rebuilds_in_a_process_that_imports_only_gymnasium(run, tmp_path):
    "The env's spec is plain JSON: `gym.make` rebuilds the learned-reward env from it, importing rlhf_nb by itself."
    from rlhf_nb.reward import learned_reward_env
    store, _ = run
    env = learned_reward_env('r', store=store)
    expected = _steps(env)
    got = _python(STEP_SCRIPT + f"""
from gymnasium.envs.registration import EnvSpec
env = gym.make(EnvSpec.from_json(sys.stdin.read()))
assert 'rlhf_nb.reward' in sys.modules  # imported by gymnasium, from the wrapper's entry point
print(json.dumps(dict(wrappers=[w.name for w in env.spec.additional_wrappers], steps=run(env, {ACTIONS!r}))))
""", stdin=env.spec.to_json())
    assert got['wrappers'] == ['RecordEpisodeStatistics', 'LearnedRewardWrapper']
    assert got['steps'] == expected
    env.close()


def test_stable_baselines3_trains_on_the_learned_reward(run):
    "SB3's PPO trains a few thousand steps on exactly the learned reward, and logs each episode's true return."
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv
    from rlhf_nb.core import torch_threads
    from rlhf_nb.reward import RewardModel, learned_reward_env
    store, record = run
    model = RewardModel.load(record['path'])

    class Episodes(BaseCallback):
        "Each finished episode's statistics, and each step's observation (before the step) and reward as SB3 got them."
        def __init__(self):
            super().__init__()
            self.done, self.obs, self.rewards = [], [], []
        def _on_step(self):
            self.done += [info['episode'] for info in self.locals['infos'] if 'episode' in info]
            self.obs.append(self.locals['obs_tensor'].cpu().numpy()); self.rewards.append(self.locals['rewards'].copy())
            return True

    venv = DummyVecEnv([lambda: learned_reward_env(record['path'])] * 4)  # no Monitor: info['episode'] is the true one
    agent = PPO('MlpPolicy', venv, n_steps=256, batch_size=256, n_epochs=2, seed=0, device='cpu', verbose=0)
    episodes = Episodes()
    before = [p.detach().clone() for p in agent.policy.parameters()]
    with torch_threads(1): agent.learn(4_096, callback=episodes)
    assert agent.num_timesteps == 4_096
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters()))  # it trained
    assert len(episodes.done) > 50
    assert all(float(e['r']) == int(e['l']) for e in episodes.done)  # CartPole's true return is the episode length
    assert [e['r'] for e in agent.ep_info_buffer] == [e['r'] for e in episodes.done[-len(agent.ep_info_buffer):]]
    # Every reward it trained on is the learned one, step for step: r(obs_t) of the observation before the step
    obs, rewards = np.concatenate(episodes.obs), np.concatenate(episodes.rewards)  # (4096, 4), (4096,)
    np.testing.assert_allclose(rewards, model.reward(obs), rtol=1e-5, atol=1e-6)
    assert not np.allclose(rewards, 1.0)  # not the env's +1 a step
    venv.close()


def test_model_file_saved_before_continuous_actions_still_loads():
    """A file of format 'rlhf_nb.reward/1' written by rlhf_nb before it supported continuous actions (`tests/data`, made as
    its JSON's `made_by` says) loads with its weights bit for bit, rewards as that code computed, and rewards CartPole
    through the wrapper. The rewards are compared to float32 precision, not bit for bit: the same weights give results
    that differ in the seventh digit on CPUs with other vector instructions (AVX-512 against AVX2)."""
    import torch
    from rlhf_nb.envs import make_env
    from rlhf_nb.reward import LearnedRewardWrapper, RewardModel
    path = Path(__file__).parent / 'data' / 'reward-format1-cartpole.pt'
    saved = json.loads(path.with_suffix('.json').read_text())
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['format'] == 'rlhf_nb.reward/1' and set(ckpt['config']) == {'obs_shape', 'n_actions', 'n_members', 'use_actions', 'hidden'}
    model = RewardModel.load(path)
    assert (model.env_id, model.action_config, model.config['use_actions']) == ('CartPole-v1', {'n_actions': 2}, True)
    close = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.reward(np.array(saved['probe_obs'], np.float32), np.array(saved['probe_actions'])),
                               saved['rewards'], **close)
    returns = model.returns(np.array(saved['clip_obs'], np.float32), np.array(saved['clip_actions']), np.array(saved['clip_padding']))
    np.testing.assert_allclose(returns, saved['returns'], **close)
    np.testing.assert_allclose(model.absorbing_reward(), saved['absorbing_reward'], **close)
    env = LearnedRewardWrapper(make_env('CartPole-v1'), path)
    obs, _ = env.reset(seed=0)
    assert env.step(1)[1] == float(model.reward(obs[None], np.array([1]))[0])
    env.close()
    with tempfile.TemporaryDirectory() as d:  # saved again by this version: still format 1, the same config, the same rewards
        again = torch.load(model.save(Path(d) / 'again.pt'), weights_only=True)
    assert again['format'] == 'rlhf_nb.reward/1' and again['config'] == ckpt['config']
    assert all(torch.equal(again['state_dict'][k], v) for k, v in ckpt['state_dict'].items())
