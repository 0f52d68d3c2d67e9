"""Clip collection and video encoding speed on every env of the suite: env steps/s with frames, encode time per pair.

Run: nice .venv/bin/python bench/bench_clips.py [--quick] [--envs CartPole-v1 Hopper-v5 ...]
Per env (CartPole, Acrobot, MountainCar, LunarLander, Pendulum, Hopper, HalfCheetah, Pong): a random policy's
rollout cut into segments of the env's own clip length (`envs.ENV_SETTINGS`), with a frame per step from
`envs.render_frame`, in env steps/s; the same with the env's own `render()` instead (gymnasium's pygame at its full
size; MuJoCo's OpenGL, software without a GPU), for the ratio; and one pair of those clips encoded side by side.
Targets: >= 1,000 env steps/s with frames (classic control, Box2D), >= 500 (MuJoCo); <= 150 ms per pair.
Also, on CartPole: collect_pairs of 40 pairs with videos encoded at once vs in the background (time until it
returns, and until wait_for_videos returns), and PPO while they encode. Writes bench/results/clips.json and prints a
table. The machine is shared, so every figure is a median of short repeats (best in brackets), and the comparisons
that matter (our frames vs the env's own render, background vs foreground) are ratios measured in the same run.
"""
import argparse, json, os, platform, sys, tempfile, threading, time
from functools import partial
from pathlib import Path

os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')
import numpy as np

from rlhf_nb.clips import RandomPolicy, clip_frames, segment_stream
from rlhf_nb.video import encode_pair_video, encode_clip_video, video_format
from rlhf_nb.envs import make_env
from rlhf_nb.rlhf import RLHFConfig

ROOT = Path(__file__).resolve().parent
SUITE = ('CartPole-v1', 'Acrobot-v1', 'MountainCar-v0', 'LunarLander-v3', 'Pendulum-v1', 'Hopper-v5', 'HalfCheetah-v5',
         'ALE/Pong-v5')
PAIR_MS = 150  # target: one pair encoded in at most this


def steps_target(env_id):
    "Env steps/s with frames that collection should keep: 500 for MuJoCo (issue 14), 1,000 for the rest (issue 13)."
    return None if env_id.startswith('ALE/') else 500 if env_id in ('Hopper-v5', 'HalfCheetah-v5') else 1000


def times(fn, repeats):
    "Median and best seconds of `fn()` over `repeats` runs (best: the least disturbed by other work on the machine)."
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return float(np.median(ts)), float(np.min(ts))


def clip_length(env_id):
    "The env's clip length: the loop's `segment_length` for it (its row of `envs.ENV_SETTINGS`, else the default)."
    return RLHFConfig.for_env(env_id).segment_length


def collection_speed(env_id, batches, frames=True, per_batch=16):
    """Median env steps/s of a random policy's rollout cut into segments of the env's clip length, `per_batch`
    segments at a time (as `collect_pairs` does: 8 pairs per chunk, then freed), padding not counted (it takes no env
    step); and the seconds it took to make the env."""
    t = time.perf_counter()
    env = make_env(env_id, render=frames, record_stats=False)
    make_s = time.perf_counter() - t
    stream = segment_stream(env, RandomPolicy(env.action_space, seed=0), clip_length(env_id), seed=0, frames=frames)
    next(stream)  # warm up (the first frame sizes the arrays)
    speeds = []
    for _ in range(batches):
        t = time.perf_counter()
        segs = [next(stream) for _ in range(per_batch)]
        speeds.append(sum(int((~s.padding).sum()) for s in segs) / (time.perf_counter() - t))
        del segs
    env.close()
    return dict(median=float(np.median(speeds)), best=float(np.max(speeds)), make_env_s=make_s)


def own_render_speed(env_id, steps):
    """Env steps/s of a random rollout with a frame per step from the env's own `render()` (gymnasium's pygame at its
    full size; MuJoCo's OpenGL at make_env's size), for the ratio; and that frame's shape."""
    env = make_env(env_id, render=True, record_stats=False)
    env.reset(seed=0)
    policy = RandomPolicy(env.action_space, seed=0)
    frame = env.render()  # the first render starts the renderer
    t = time.perf_counter()
    for _ in range(steps):
        env.render()
        _, _, term, trunc, _ = env.step(policy.act(None))
        if term or trunc: env.reset()
    dt = time.perf_counter() - t
    env.close()
    return dict(steps_per_s=steps / dt, frame_shape=list(frame.shape))


def encode_times(env_id, repeats, tmp):
    "Median and best ms to encode one pair video of the env's clip length, and the pair with its two per-clip videos, and its size."
    env = make_env(env_id, render=True, record_stats=False)
    stream = segment_stream(env, RandomPolicy(env.action_space, seed=11), clip_length(env_id), seed=11)
    L, R = clip_frames(next(stream)), clip_frames(next(stream))
    env.close()
    encode_pair_video(L, R, tmp / 'warm')  # first run pays for loading ffmpeg from disk
    ms = lambda fn: [t * 1e3 for t in times(fn, repeats)]  # [median, best]
    pair = ms(lambda: encode_pair_video(L, R, tmp / 'pair'))
    both = ms(lambda: encode_pair_video(L, R, tmp / 'pair3', left_path=tmp / 'l', right_path=tmp / 'r'))
    clip = ms(lambda: encode_clip_video(L, tmp / 'clip'))
    size = (tmp / f'pair.{video_format()}').stat().st_size
    return dict(pair_ms=pair, pair_and_clips_ms=both, clip_ms=clip, pair_kib=size / 1024, frame_shape=list(L.shape[1:]),
                segment_length=len(L))


def end_to_end(tmp, n_pairs):
    "Seconds per pair for `collect_pairs` into a fresh store: roll out, encode 3 videos, write records and arrays."
    from rlhf_nb.store import Store
    from rlhf_nb.clips import collect_pairs
    store = Store(tmp / 'home')
    t = time.perf_counter()
    collect_pairs(store, 'bench', n_pairs=n_pairs, seed=0)
    return (time.perf_counter() - t) / n_pairs


def background_vs_foreground(tmp, n_pairs, repeats):
    """`collect_pairs` of `n_pairs` CartPole pairs with videos encoded at once (foreground) or queued to the
    background worker: seconds until it returns, and (background) until `wait_for_videos` returns. Runs alternate
    foreground and background, so both see the same load; medians, and the ratios of the medians."""
    from rlhf_nb.store import Store
    from rlhf_nb.clips import collect_pairs
    from rlhf_nb.video import wait_for_videos
    store = Store(tmp / 'home_bg')
    fg, bg_return, bg_done = [], [], []
    for k in range(repeats):
        t = time.perf_counter()
        collect_pairs(store, f'fg{k}', n_pairs=n_pairs, seed=k)
        fg.append(time.perf_counter() - t)
        t = time.perf_counter()
        collect_pairs(store, f'bg{k}', n_pairs=n_pairs, seed=k, background=True)
        bg_return.append(time.perf_counter() - t)
        wait_for_videos()
        bg_done.append(time.perf_counter() - t)
    med = lambda xs: float(np.median(xs))
    return dict(n_pairs=n_pairs, repeats=repeats, foreground_s=med(fg), background_return_s=med(bg_return),
                background_all_written_s=med(bg_done), return_ratio=med(bg_return) / med(fg),
                all_written_ratio=med(bg_done) / med(fg), runs=dict(foreground=fg, background_return=bg_return,
                                                                   background_all_written=bg_done))


def training_while_encoding(tmp, n_pairs, repeats, steps=8192):
    """What the loop sees: PPO on CartPole (`steps` env steps, one torch thread) alone, and right after
    `collect_pairs(..., background=True)` queued `n_pairs` pairs' videos: seconds until PPO is done, and until
    `wait_for_videos` returns. With the worker at its usual low priority (nice 10), and, where the OS lets us raise
    it back (root, or CAP_SYS_NICE), at normal priority for comparison. Alternating, in one run; medians."""
    import torch
    from rlhf_nb import clips, video
    from rlhf_nb.envs import make_vector_env
    from rlhf_nb.ppo import PPO, PPOConfig
    from rlhf_nb.store import Store
    torch.set_num_threads(1)
    store, cfg = Store(tmp / 'home_ppo'), PPOConfig.for_env('CartPole-v1')
    def ppo(seed):
        agent = PPO(cfg, make_vector_env('CartPole-v1', cfg.num_envs), seed=seed)
        t = time.perf_counter(); agent.learn(steps, progress=False); return time.perf_counter() - t
    def renice(n): os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), n)  # runs on the worker thread
    ppo(99)  # warm up
    levels = [video._NICE]
    try:
        video.queue_video_job(partial(renice, 0)); video.wait_for_videos(); levels.append(0)
    except OSError: pass  # not allowed to raise a priority: measure nice 10 only
    runs = {'alone': []} | {f'nice{n}': dict(ppo_s=[], all_written_s=[]) for n in levels}
    for k in range(repeats):
        runs['alone'].append(ppo(k))
        for n in levels:
            video.queue_video_job(partial(renice, n))
            clips.collect_pairs(store, f'ppo{n}-{k}', n_pairs=n_pairs, seed=k, background=True)
            t = time.perf_counter()
            runs[f'nice{n}']['ppo_s'].append(ppo(k))
            video.wait_for_videos()
            runs[f'nice{n}']['all_written_s'].append(time.perf_counter() - t)
    if 0 in levels: video.queue_video_job(partial(renice, video._NICE))
    med = lambda xs: float(np.median(xs))
    r = dict(steps=steps, n_pairs=n_pairs, repeats=repeats, ppo_alone_s=med(runs['alone']), runs=runs)
    for n in levels:
        d = runs[f'nice{n}']
        r[f'nice{n}'] = dict(ppo_s=med(d['ppo_s']), all_written_s=med(d['all_written_s']),
                            ppo_slowdown=med(d['ppo_s']) / med(runs['alone']))
    return r


def env_row(env_id, reps, quick, tmp):
    "Everything measured on one env: collection with frames (ours, and the env's own render), one pair's encoding."
    mujoco, atari = env_id in ('Hopper-v5', 'HalfCheetah-v5'), env_id.startswith('ALE/')
    batches = (2 if quick else 3) if atari else 3 * reps
    row = dict(segment_length=clip_length(env_id),
               steps_per_s=collection_speed(env_id, batches, per_batch=8 if atari else 16),
               encode=encode_times(env_id, 3 if atari else reps, tmp))
    if not atari:  # Atari's own render is a copy of the screen: it is what render_frame returns
        own = own_render_speed(env_id, (30 if quick else 100) if mujoco else (300 if quick else 1000))
        row['own_render'] = own | dict(speedup=row['steps_per_s']['median'] / own['steps_per_s'])
    target = steps_target(env_id)
    row['targets'] = dict(steps_per_s=target, pair_ms=PAIR_MS)
    row['meets'] = dict(steps_per_s=None if target is None else row['steps_per_s']['median'] >= target,
                        pair_ms=row['encode']['pair_ms'][0] <= PAIR_MS)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='fewer repeats (a smoke run)')
    ap.add_argument('--envs', nargs='+', default=list(SUITE), help='env ids to measure (default: the suite)')
    ap.add_argument('--no-cartpole-extras', action='store_true',
                    help="skip CartPole's collect_pairs, background encoding and PPO-while-encoding measurements")
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix='bench_clips_'))
    r = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=sys.version.split()[0],
                          load_average_at_start=os.getloadavg()[0]),  # other work on the machine skews medians
             video_format=video_format(), envs={})
    for env_id in args.envs:
        r['envs'][env_id] = env_row(env_id, reps, args.quick, tmp)
        d = r['envs'][env_id]
        print(f"{env_id}: {d['steps_per_s']['median']:,.0f} env steps/s with frames, pair {d['encode']['pair_ms'][0]:.0f} ms",
              flush=True)
    if not args.no_cartpole_extras:
        r['cartpole_steps_per_s_no_frames'] = collection_speed('CartPole-v1', 3 * reps, frames=False)
        r['collect_pairs_ms_per_pair'] = end_to_end(tmp, 8 if args.quick else 24) * 1e3
        r['collect_pairs_background'] = background_vs_foreground(tmp, 40, 2 if args.quick else 3)
        r['ppo_while_encoding'] = training_while_encoding(tmp, 40, 2 if args.quick else 3)
    r['machine']['load_average_at_end'] = os.getloadavg()[0]
    out = ROOT / 'results' / 'clips.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + '\n')

    sps = lambda d: f"{d['median']:,.0f} ({d['best']:,.0f})"
    ms = lambda m: f"{m[0]:.0f} ({m[1]:.0f})"
    yes = lambda ok: '' if ok is None else 'yes' if ok else 'NO'
    print(f"\nper env ({r['video_format']}; median (best)); clip = the env's clip length in steps, frame w x h")
    print(f"{'env':16} {'clip':>4} {'frame':>7}  {'steps/s with frames':>19} {'target':>6} {'ok':>3}  "
          f"{'own render()':>12} {'ratio':>6}  {'pair ms':>9} {'ok':>3} {'KiB':>5}")
    for env_id, d in r['envs'].items():
        e, own = d['encode'], d.get('own_render')
        h, w = e['frame_shape'][:2]
        frame = f"{w}x{h}"
        own_sps, ratio = (f"{own['steps_per_s']:,.0f}", f"{own['speedup']:.0f}x") if own else ('', '')
        print(f"{env_id:16} {d['segment_length']:>4} {frame:>7}  {sps(d['steps_per_s']):>19} "
              f"{d['targets']['steps_per_s'] or '':>6} {yes(d['meets']['steps_per_s']):>3}  {own_sps:>12} {ratio:>6}  "
              f"{ms(e['pair_ms']):>9} {yes(d['meets']['pair_ms']):>3} {e['pair_kib']:>5.0f}")
    if not args.no_cartpole_extras:
        bg, pw = r['collect_pairs_background'], r['ppo_while_encoding']
        from rlhf_nb.video import _NICE as video_nice
        rows = [('CartPole collection, without frames', sps(r['cartpole_steps_per_s_no_frames']), ''),
                ('collect_pairs end to end, CartPole (ms/pair)', f"{r['collect_pairs_ms_per_pair']:.0f}",
                 'roll out, 3 videos, store'),
                ('collect_pairs 40 CartPole pairs, videos at once (s)', f"{bg['foreground_s']:.2f}", ''),
                ('  ... background: until it returns (s)', f"{bg['background_return_s']:.2f}",
                 f"{bg['return_ratio']:.2f}x the foreground time"),
                ('  ... background: until wait_for_videos returns (s)', f"{bg['background_all_written_s']:.2f}",
                 f"{bg['all_written_ratio']:.2f}x the foreground time"),
                (f"PPO {pw['steps']:,} CartPole steps alone (s)", f"{pw['ppo_alone_s']:.2f}", 'one torch thread')]
        for n in (video_nice, 0):
            if f'nice{n}' in pw:
                d = pw[f'nice{n}']
                rows += [(f"  ... while 40 pairs encode in the background, nice {n} (s)", f"{d['ppo_s']:.2f}",
                          f"{d['ppo_slowdown']:.2f}x; all videos written after {d['all_written_s']:.2f} s")]
        w = max(len(a) for a, _, _ in rows)
        print()
        for a, b, c in rows: print(f"{a:<{w}}  {b:>14}  {c}")
    print(f"load average {r['machine']['load_average_at_start']:.1f} -> {r['machine']['load_average_at_end']:.1f} "
          f"on {r['machine']['cpus']} CPUs; wrote {out.relative_to(ROOT.parent)}")


if __name__ == '__main__':
    main()
