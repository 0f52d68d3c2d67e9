"""Clip collection and video encoding speed: CartPole and Pong env steps/s with frames, encode time per pair.

Run: .venv/bin/python bench/bench_clips.py [--quick]
Writes bench/results/clips.json and prints a table. The machine is shared, so every figure is a median of
short repeats, and the comparisons that matter (our CartPole frames vs gymnasium's pygame render) are ratios
measured in the same run.
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('SDL_VIDEODRIVER', 'dummy')
import numpy as np

from rlhf_nb.clips import (RandomPolicy, collect_segments, clip_frames, encode_pair_video, encode_clip_video,
                           segment_stream, video_format)
from rlhf_nb.envs import make_env

ROOT = Path(__file__).resolve().parent


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return float(np.median(times))


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
    return float(np.median(speeds)), make_s


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
    pair = median_time(lambda: encode_pair_video(L, R, tmp / 'pair'), repeats)
    both = median_time(lambda: encode_pair_video(L, R, tmp / 'pair3', left_path=tmp / 'l', right_path=tmp / 'r'), repeats)
    clip = median_time(lambda: encode_clip_video(L, tmp / 'clip'), repeats)
    size = (tmp / f'pair.{video_format()}').stat().st_size
    return dict(pair_ms=pair * 1e3, pair_and_clips_ms=both * 1e3, clip_ms=clip * 1e3, pair_kib=size / 1024,
                frame_shape=list(L.shape[1:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='fewer repeats (a smoke run)')
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix='bench_clips_'))
    r = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=sys.version.split()[0]),
             video_format=video_format(), segment_length=25)
    r['cartpole_steps_per_s'], _ = collection_speed('CartPole-v1', 3 * reps)
    r['cartpole_steps_per_s_no_frames'], _ = collection_speed('CartPole-v1', 3 * reps, frames=False)
    r['cartpole_pygame_steps_per_s'] = pygame_speed(1000 if args.quick else 2000)
    r['cartpole_frames_speedup_vs_pygame'] = r['cartpole_steps_per_s'] / r['cartpole_pygame_steps_per_s']
    r['pong_steps_per_s'], r['pong_make_env_s'] = collection_speed('ALE/Pong-v5', 2 if args.quick else 3, per_batch=8)
    r['cartpole_encode'] = encode_times('CartPole-v1', reps, tmp)
    r['pong_encode'] = encode_times('ALE/Pong-v5', 3, tmp)
    r['targets'] = dict(cartpole_steps_per_s=2000, cartpole_pair_encode_ms=100)
    out = ROOT / 'results' / 'clips.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + '\n')

    ce, pe = r['cartpole_encode'], r['pong_encode']
    rows = [('CartPole collection, random policy, with frames', f"{r['cartpole_steps_per_s']:,.0f} steps/s", 'target >= 2,000'),
            ('CartPole collection, without frames', f"{r['cartpole_steps_per_s_no_frames']:,.0f} steps/s", ''),
            ("CartPole with gymnasium's pygame frames", f"{r['cartpole_pygame_steps_per_s']:,.0f} steps/s",
             f"ours {r['cartpole_frames_speedup_vs_pygame']:.1f}x faster"),
            ('Pong collection, with frames', f"{r['pong_steps_per_s']:,.0f} steps/s", f"+ {r['pong_make_env_s']:.2f} s to make the env"),
            (f"CartPole pair video {ce['frame_shape'][1]}x{ce['frame_shape'][0]} clips", f"{ce['pair_ms']:.0f} ms",
             f"target <= 100 ms; {ce['pair_kib']:.1f} KiB"),
            ('CartPole pair + 2 clip videos (one ffmpeg)', f"{ce['pair_and_clips_ms']:.0f} ms", ''),
            ('CartPole clip video alone', f"{ce['clip_ms']:.0f} ms", ''),
            (f"Pong pair video {pe['frame_shape'][1]}x{pe['frame_shape'][0]} clips", f"{pe['pair_ms']:.0f} ms", f"{pe['pair_kib']:.1f} KiB"),
            ('Pong pair + 2 clip videos', f"{pe['pair_and_clips_ms']:.0f} ms", '')]
    w = max(len(a) for a, _, _ in rows)
    print(f"{'clips (' + r['video_format'] + ', 25-step segments)':<{w}}  {'result':>16}  note")
    for a, b, c in rows: print(f"{a:<{w}}  {b:>16}  {c}")
    print(f"wrote {out.relative_to(ROOT.parent)}")


if __name__ == '__main__':
    main()
