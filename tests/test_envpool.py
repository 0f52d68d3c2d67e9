"""Atari on EnvPool: the package's vector env keeps `make_env`'s preprocessing contract (observations, life loss vs
game over, the true score logged, SAME_STEP autoreset, seeded resets), PPO and the learned-reward wrapper run on it
unchanged, and its full-colour frames make a clip pair that encodes and plays."""
import numpy as np
import pytest
import gymnasium as gym

pytest.importorskip('envpool')

from rlhf_nb.envs import EnvPoolVectorEnv, make_env, make_vector_env


def random_actions(envs, steps, seed=0):
    return np.random.default_rng(seed).integers(envs.single_action_space.n, size=(steps, envs.num_envs))


def test_observations_follow_the_contract():
    "Pong on EnvPool by default: (N, 4, 84, 84) uint8 like make_env's, a frame stack that shifts by one frame per step."
    envs = make_vector_env('ALE/Pong-v5', 2)
    single = make_env('ALE/Pong-v5')
    try:
        assert isinstance(envs.unwrapped, EnvPoolVectorEnv)
        assert envs.metadata['autoreset_mode'] == gym.vector.AutoresetMode.SAME_STEP
        assert envs.single_observation_space == single.observation_space
        assert envs.single_action_space == single.action_space
        obs, _ = envs.reset(seed=0)
        assert (obs.shape, obs.dtype) == ((2, 4, 84, 84), np.uint8)
        assert all(np.array_equal(obs[i, k], obs[i, 0]) for i in range(2) for k in range(4))  # a reset fills the stack
        for a in random_actions(envs, 60):
            prev = obs
            obs, reward, terminated, truncated, _ = envs.step(a)
            assert not (terminated | truncated).any()  # no point ends a Pong game this early
            assert np.array_equal(obs[:, :3], prev[:, 1:])  # the oldest frame drops out, one new frame comes in
        assert obs.max() > obs.min()  # a picture, not a blank
    finally:
        envs.close(); single.close()


@pytest.mark.parametrize('backend', ['envpool', 'gymnasium'])
def test_life_loss_ends_the_episode_not_the_game(backend):
    "Breakout while training: a termination per lost life, life_lost marked, lives counting down in the same game; the game's score once, at its end."
    envs = make_vector_env('ALE/Breakout-v5', 2, backend=backend)
    envs.reset(seed=1)
    running, terminations, lives, games = np.zeros(2), np.zeros(2, int), [[], []], []
    try:
        for a in random_actions(envs, 3000):
            obs, reward, terminated, truncated, info = envs.step(a)
            running += reward
            terminations += terminated
            if terminated.any():
                lost = info['final_info']['life_lost'] & info['final_info']['_life_lost']
                for i in np.flatnonzero(terminated): lives[i].append(int(info['lives'][i]))
                ended_game = terminated & ~lost
                assert np.array_equal(ended_game, info.get('_episode', np.zeros(2, bool))), (ended_game, info.get('_episode'))
            if '_episode' in info:
                for i in np.flatnonzero(info['_episode']):
                    assert info['episode']['r'][i] == running[i]  # the whole game's score
                    assert lives[i][-5:] == [4, 3, 2, 1, 5], lives[i]  # four lives lost in one game, then a new game
                    games.append(running[i]); running[i] = 0
            if len(games) >= 2: break
        assert len(games) >= 2 and terminations.sum() >= 5 * len(games)
    finally:
        envs.close()


def test_without_training_a_life_lost_is_not_an_end():
    "Evaluation plays whole games: with training=False only game over ends an episode, and each end is a logged game."
    envs = make_vector_env('ALE/Breakout-v5', 2, training=False)
    envs.reset(seed=0)
    ends = games = 0
    try:
        for a in random_actions(envs, 1500):
            _, _, terminated, truncated, info = envs.step(a)
            ends += int((terminated | truncated).sum())
            games += int(info.get('_episode', np.zeros(2, bool)).sum())
            if games >= 2: break
        assert games >= 2 and ends == games
    finally:
        envs.close()


def test_same_observations_as_the_gymnasium_path():
    "With sticky actions and no-op starts off, EnvPool and make_env's wrappers give the same frames, rewards and ends."
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
    env = gym.make('ALE/Breakout-v5', frameskip=1, repeat_action_probability=0.0)
    env = FrameStackObservation(AtariPreprocessing(env, noop_max=1, frame_skip=4, screen_size=84,
                                                   terminal_on_life_loss=False, grayscale_obs=True), 4)
    pool = EnvPoolVectorEnv('ALE/Breakout-v5', 1, training=False, repeat_action_probability=0.0, noop_max=1,
                            use_fire_reset=False)
    try:
        og, _ = env.reset(seed=0)
        oe, _ = pool.reset(seed=0)
        assert np.array_equal(og, oe[0])
        rng, steps, score = np.random.default_rng(0), 0, 0.0
        while True:
            a = int(rng.integers(4))
            og, rg, tg, cg, _ = env.step(a)
            oe, re, te, ce, _ = pool.step([a])
            steps += 1; score += rg
            assert (rg, tg, cg) == (re[0], te[0], ce[0]), steps
            if tg or cg: break
            assert np.array_equal(og, oe[0]), steps
        assert steps > 100 and score > 0  # a whole game, some bricks hit
    finally:
        env.close(); pool.close()


def test_seeded_reset_repeats_and_seeds_differ():
    "A seeded reset makes a fresh pool: the same seed replays the same games, another seed plays others."
    envs = make_vector_env('ALE/Pong-v5', 2)
    actions = random_actions(envs, 80)
    def play(seed):
        obs, _ = envs.reset(seed=seed)
        out = [obs.copy()]
        for a in actions: out.append(envs.step(a)[0].copy())
        return np.stack(out)
    try:
        first = play(3)
        assert np.array_equal(play(3), first)
        assert not np.array_equal(play(4), first)
    finally:
        envs.close()


def test_ppo_logs_true_game_scores_under_another_reward():
    "PPO on EnvPool Breakout with its reward negated: true returns are whole games (positive), training returns per life."
    from rlhf_nb.ppo import PPO, PPOConfig
    cfg = PPOConfig.for_env('ALE/Breakout-v5', num_envs=2, num_steps=128, num_minibatches=2, update_epochs=1)
    envs = gym.wrappers.vector.TransformReward(make_vector_env('ALE/Breakout-v5', 2), lambda r: -r - 0.01)
    ppo = PPO(cfg, envs, seed=0, device='cpu').learn(1024, progress=False)
    true = [r for m in ppo.history for r in m['true_returns']]
    train = [r for m in ppo.history for r in m['train_returns']]
    envs.close()
    assert len(true) >= 1 and min(true) >= 0, true
    assert len(train) >= 5 * len(true) and max(train) < 0, (len(train), len(true))  # a training episode per life


def test_learned_reward_wrapper_on_envpool():
    "LearnedRewardVecWrapper accepts the EnvPool env (SAME_STEP) and rewards each step by its observation, across an autoreset; EnvPool's own NEXT_STEP pool is refused."
    import envpool, torch
    from rlhf_nb.reward import LearnedRewardVecWrapper, RewardModel
    torch.manual_seed(0)
    envs = make_vector_env('ALE/Breakout-v5', 2)
    obs, _ = envs.reset(seed=0)
    model = RewardModel((4, 84, 84), 4, n_members=1).fit_normalization(obs, center='mean')
    wrapped = LearnedRewardVecWrapper(envs, model)
    obs, _ = wrapped.reset(seed=0)
    ended = 0
    try:
        for a in random_actions(wrapped, 400):
            expected = model.reward(obs)
            obs, reward, terminated, truncated, info = wrapped.step(a)
            np.testing.assert_allclose(reward, expected, rtol=1e-5, atol=1e-6)
            ended += int((terminated | truncated).sum())
        assert ended >= 2  # the rewards stayed right across autoresets
    finally:
        wrapped.close()
    raw = envpool.make('Breakout-v5', env_type='gymnasium', num_envs=2)
    with pytest.raises(ValueError, match='SAME_STEP'): LearnedRewardVecWrapper(raw, model)
    raw.close()


def test_clip_pair_from_envpool_frames_encodes_and_plays(tmp_path):
    "Full-colour EnvPool screens of two games, 25 steps each, encoded as a labeled pair, decode back to those frames."
    from rlhf_nb.video import encode_pair_video, read_video
    envs = make_vector_env('ALE/Pong-v5', 2, render=True)
    envs.reset(seed=0)
    frames = []
    try:
        for a in random_actions(envs, 25):
            envs.step(a)
            frames.append(envs.render())  # (2, 210, 160, 3)
    finally:
        envs.close()
    frames = np.stack(frames)  # (25, 2, 210, 160, 3)
    assert (frames.shape, frames.dtype) == ((25, 2, 210, 160, 3), np.uint8)
    assert len(np.unique(frames[..., 0])) > 3  # in colour: more than one grey level per channel
    paths = encode_pair_video(frames[:, 0], frames[:, 1], tmp_path / 'pair.mp4',
                              left_path=tmp_path / 'left.mp4', right_path=tmp_path / 'right.mp4')
    pair = read_video(paths[0])
    assert pair.shape[0] == 25 and pair.shape[1] >= 210 and pair.shape[2] >= 2 * 160
    for side, path in ((0, paths[1]), (1, paths[2])):
        clip = read_video(path)
        assert clip.shape == (25, 210, 160, 3)
        err = np.abs(clip.astype(int) - frames[:, side]).mean()
        assert err < 6, err  # lossy H.264, but these frames
        other = np.abs(clip.astype(int) - frames[:, 1 - side]).mean()
        assert other > err  # and not the other game's


@pytest.mark.skipif(not __import__('torch').cuda.is_available(), reason='needs a CUDA GPU')
def test_learned_reward_runs_on_ppos_gpu(tmp_path):
    "With a GPU, the loop keeps the CNN reward model on PPO's device: after PPO starts and after every retrain."
    from rlhf_nb.rlhf import RLHF, RLHFConfig
    from rlhf_nb.store import Store
    cfg = RLHFConfig.for_env('ALE/Pong-v5', teacher='oracle', total_timesteps=2048, round_steps=1024, eval_every=2048,
                             eval_episodes=1, label_budget=12, pretrain_pairs=8, ppo={'num_envs': 4},
                             reward_train={'n_members': 1, 'max_epochs': 2})
    loop = RLHF('pong_gpu', cfg, store=Store(tmp_path / 'home'), progress=False)
    loop.pretrain()
    loop._start_policy()
    assert loop.ppo.device.type == 'cuda' and loop.reward_model.device == loop.ppo.device
    loop.train_reward(1)
    assert loop.envs.model is loop.reward_model and loop.reward_model.device == loop.ppo.device
