"""Clip collection and video encoding speed: CartPole and Pong env steps/s with frames, encode time per pair.

Run: .venv/bin/python bench/bench_clips.py [--quick]
Also collect_pairs of 40 CartPole pairs with videos encoded at once vs in the background (time until it
returns, and until wait_for_videos returns). Writes bench/results/clips.json and prints a table. The machine is
shared, so every figure is a median of short repeats, and the comparisons that matter (our CartPole frames vs
gymnasium's pygame render, background vs foreground) are ratios measured in the same run.
"""
import argparse, json, os, platform, sys, tempfile, threading, time
from functools import partial
from pathlib import Path

os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')
import numpy as np

from rlhf_nb.clips import RandomPolicy, collect_segments, clip_frames, segment_stream
from rlhf_nb.video import encode_pair_video, encode_clip_video, video_format
from rlhf_nb.envs import make_env

ROOT = Path(__file__).resolve().parent


def times(fn, repeats):
    "Median and best seconds of `fn()` over `repeats` runs (best: the least disturbed by other work on the machine)."
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return float(np.median(ts)), float(np.min(ts))


def collection_speed(env_id, batches, frames=True, per_batch=16):
    """Median env steps/s of a random policy's rollout cut into segments, `per_batch` segments at a time (as
    `collect_pairs` does: 8 pairs per chunk, then freed), padding not counted (it takes no env step);
    and the seconds it took to make the env."""
    t = time.perf_counter()
    env = make_env(env_id, render=frames, record_stats=False)
    make_s = time.perf_counter() - t
    stream = segment_stream(env, RandomPolicy(env.action_space, 0), 25, seed=0, frames=frames)
    speeds = []
    for _ in range(batches):
        t = time.perf_counter()
        segs = [next(stream) for _ in range(per_batch)]
        speeds.append(sum(int((~s.padding).sum()) for s in segs) / (time.perf_counter() - t))
        del segs
    env.close()
    return dict(median=float(np.median(speeds)), best=float(np.max(speeds)), make_env_s=make_s)


def pygame_speed(steps):
    "Env steps/s of a random CartPole rollout with gymnasium's own pygame frames, for the ratio."
    env = make_env('CartPole-v1', render=True, record_stats=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(steps):
        env.render()
        _, _, term, trunc, _ = env.step(int(rng.integers(2)))
        if term or trunc: env.reset()
    dt = time.perf_counter() - t
    env.close()
    return steps / dt


def encode_times(env_id, repeats, tmp):
    "Median ms to encode one pair video, and the pair with its two per-clip videos, and its size."
    left, right = collect_segments(env_id, n_segments=2, seed=11)
    L, R = clip_frames(left), clip_frames(right)
    encode_pair_video(L, R, tmp / 'warm')  # first run pays for loading ffmpeg from disk
    ms = lambda fn: [t * 1e3 for t in times(fn, repeats)]  # [median, best]
    pair = ms(lambda: encode_pair_video(L, R, tmp / 'pair'))
    both = ms(lambda: encode_pair_video(L, R, tmp / 'pair3', left_path=tmp / 'l', right_path=tmp / 'r'))
    clip = ms(lambda: encode_clip_video(L, tmp / 'clip'))
    size = (tmp / f'pair.{video_format()}').stat().st_size
    return dict(pair_ms=pair, pair_and_clips_ms=both, clip_ms=clip, pair_kib=size / 1024, frame_shape=list(L.shape[1:]))


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
        t = time.perf_counter(); agent.learn(steps); return time.perf_counter() - t
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='fewer repeats (a smoke run)')
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix='bench_clips_'))
    r = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=sys.version.split()[0],
                          load_average_at_start=os.getloadavg()[0]),  # other work on the machine skews medians
             video_format=video_format(), segment_length=25)
    r['cartpole_steps_per_s'] = collection_speed('CartPole-v1', 3 * reps)
    r['cartpole_steps_per_s_no_frames'] = collection_speed('CartPole-v1', 3 * reps, frames=False)
    r['cartpole_pygame_steps_per_s'] = pygame_speed(1000 if args.quick else 2000)
    r['cartpole_frames_speedup_vs_pygame'] = r['cartpole_steps_per_s']['median'] / r['cartpole_pygame_steps_per_s']
    r['pong_steps_per_s'] = collection_speed('ALE/Pong-v5', 2 if args.quick else 3, per_batch=8)
    r['cartpole_encode'] = encode_times('CartPole-v1', reps, tmp)
    r['pong_encode'] = encode_times('ALE/Pong-v5', 3, tmp)
    r['collect_pairs_ms_per_pair'] = end_to_end(tmp, 8 if args.quick else 24) * 1e3
    r['collect_pairs_background'] = background_vs_foreground(tmp, 40, 2 if args.quick else 3)
    r['ppo_while_encoding'] = training_while_encoding(tmp, 40, 2 if args.quick else 3)
    r['targets'] = dict(cartpole_steps_per_s=2000, cartpole_pair_encode_ms=100)
    r['machine']['load_average_at_end'] = os.getloadavg()[0]
    out = ROOT / 'results' / 'clips.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + '\n')

    ce, pe, cs, ps = r['cartpole_encode'], r['pong_encode'], r['cartpole_steps_per_s'], r['pong_steps_per_s']
    bg, pw = r['collect_pairs_background'], r['ppo_while_encoding']
    from rlhf_nb.video import _NICE as video_nice
    sps = lambda d: f"{d['median']:,.0f} ({d['best']:,.0f})"
    ms = lambda m: f"{m[0]:.0f} ({m[1]:.0f})"
    rows = [('CartPole collection, random policy, with frames', sps(cs), 'target >= 2,000 steps/s'),
            ('CartPole collection, without frames', sps(r['cartpole_steps_per_s_no_frames']), ''),
            ("CartPole with gymnasium's pygame frames", f"{r['cartpole_pygame_steps_per_s']:,.0f}",
             f"ours {r['cartpole_frames_speedup_vs_pygame']:.1f}x faster (medians)"),
            ('Pong collection, with frames', sps(ps), f"+ {ps['make_env_s']:.2f} s to make the env"),
            (f"CartPole pair video, {ce['frame_shape'][1]}x{ce['frame_shape'][0]} clips (ms)", ms(ce['pair_ms']),
             f"target <= 100 ms; {ce['pair_kib']:.1f} KiB"),
            ('CartPole pair + 2 clip videos, one ffmpeg (ms)', ms(ce['pair_and_clips_ms']), ''),
            ('CartPole clip video alone (ms)', ms(ce['clip_ms']), ''),
            (f"Pong pair video, {pe['frame_shape'][1]}x{pe['frame_shape'][0]} clips (ms)", ms(pe['pair_ms']), f"{pe['pair_kib']:.1f} KiB"),
            ('Pong pair + 2 clip videos (ms)', ms(pe['pair_and_clips_ms']), ''),
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
    print(f"{'clips (' + r['video_format'] + ', 25-step segments); steps/s or ms':<{w}}  {'median (best)':>18}  note")
    for a, b, c in rows: print(f"{a:<{w}}  {b:>18}  {c}")
    print(f"load average {r['machine']['load_average_at_start']:.1f} -> {r['machine']['load_average_at_end']:.1f} "
          f"on {r['machine']['cpus']} CPUs; wrote {out.relative_to(ROOT.parent)}")


if __name__ == '__main__':
    main()
