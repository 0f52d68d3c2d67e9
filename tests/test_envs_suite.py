"""The env suite end to end at the envs layer: every row of `envs.ENV_SETTINGS` makes a PPO and a loop config (which
the envs notebook cannot import), and every env of the suite collects clips with frames headless, in colour, at its
own clip length; a MuJoCo pair encodes and decodes headless."""
import numpy as np
import pytest

from rlhf_nb.clips import RandomPolicy, clip_frames, segment_stream
from rlhf_nb.envs import ENV_SETTINGS, env_settings, make_env, render_frame
from rlhf_nb.ppo import PPOConfig
from rlhf_nb.reward import RewardConfig
from rlhf_nb.rlhf import RLHFConfig
from rlhf_nb.video import encode_pair_video, read_video

SUITE = [k for k in ENV_SETTINGS if k != 'ALE/*']


@pytest.mark.parametrize('env_id', [*SUITE, 'ALE/Pong-v5'])  # 'ALE/*' is the row of every Atari id
def test_every_row_makes_its_configs(env_id):
    ppo, loop = PPOConfig.for_env(env_id), RLHFConfig.for_env(env_id)  # config_from refuses fields that do not exist
    row = env_settings(env_id)
    assert all(getattr(ppo, k) == v for k, v in row['ppo'].items())
    field = lambda k, v: RewardConfig(**v) if k == 'reward_train' else v  # a row's reward settings are a dict of fields
    assert all(getattr(loop, k) == field(k, v) for k, v in row['loop'].items() if k != 'pretrain_pairs')
    assert ppo.total_timesteps == loop.total_timesteps


@pytest.mark.parametrize('env_id', SUITE)
def test_clips_with_frames_on_every_env(env_id):
    T = env_settings(env_id)['loop']['segment_length']
    env = make_env(env_id, render=True, record_stats=False)
    try:
        seg = next(segment_stream(env, RandomPolicy(env.action_space, seed=0), T, seed=0))
        frames = clip_frames(seg)
        assert frames.shape[0] == T and frames.dtype == np.uint8 and frames.shape[-1] == 3
        h, w = frames.shape[1:3]
        assert 100 <= min(h, w) and max(h, w) <= 320, (h, w)  # small enough to encode fast, big enough to judge
        assert frames.std() > 10  # a picture, not a blank
        assert (np.abs(frames[..., 0].astype(int) - frames[..., 2]) > 30).any()  # in colour
        moving = np.abs(np.diff(frames[:int((~seg.padding).sum())].astype(int), axis=0)).sum(axis=(1, 2, 3))
        assert (moving > 0).mean() > 0.5, env_id  # the picture follows the state: most steps change it
        env.reset(seed=0)
        assert render_frame(env).shape == frames.shape[1:]  # one entry point, one size
    finally: env.close()


def test_mujoco_pair_renders_and_encodes_headless(tmp_path):
    T = env_settings('Hopper-v5')['loop']['segment_length']
    env = make_env('Hopper-v5', render=True, record_stats=False)
    try:
        stream = segment_stream(env, RandomPolicy(env.action_space, seed=3), T, seed=3)
        left, right = clip_frames(next(stream)), clip_frames(next(stream))
    finally: env.close()
    (pair,) = encode_pair_video(left, right, tmp_path / 'pair', fmt='mp4')
    video = read_video(pair)
    assert video.shape[0] == T
    assert video.shape[2] >= 2 * left.shape[2]  # both clips side by side
