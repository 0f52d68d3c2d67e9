"""Stored videos decode to what was encoded: frame count, size, the right clip on each side, and colours
(a pure red region stays red, not blue: RGB frames must not be written as BGR)."""
import numpy as np
import pytest

from rlhf_nb.clips import collect_pairs, load_segment
from rlhf_nb.envs import cartpole_frame
from rlhf_nb.store import Store
from rlhf_nb.video import encode_pair_video, read_video

T, H, W = 12, 60, 90
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def synthetic(colour):
    "(T, H, W, 3) frames of a pure `colour` square moving right over a plain grey background."
    frames = np.full((T, H, W, 3), 128, np.uint8)
    for t in range(T): frames[t, 14:46, 10 + 3 * t:42 + 3 * t] = colour
    return frames


def centre(frames, t):
    "Pixel at the middle of the square in frame t."
    return frames[t, 30, 26 + 3 * t].astype(int)


def close(pixel, colour, tol=30):
    return np.abs(pixel - np.array(colour)).max() <= tol


@pytest.mark.parametrize('fmt', ['mp4', 'gif'])
def test_pair_video_decodes_with_right_colours(tmp_path, fmt):
    left, right = synthetic(RED), synthetic(BLUE)
    pair, lpath, rpath = encode_pair_video(left, right, tmp_path / 'pair', fps=15,
                                           left_path=tmp_path / 'l', right_path=tmp_path / 'r', fmt=fmt)
    assert pair.suffix == f'.{fmt}'
    v = read_video(pair)
    # 24-pixel label bar over the clips, 4-pixel divider between them, padded to whole 16x16 macroblocks
    assert v.shape == (T, 96, 192, 3)
    for t in (0, T // 2, T - 1):
        assert close(centre(v[:, 24:24 + H, :W], t), RED), 'left clip must be on the left, and red'
        assert close(centre(v[:, 24:24 + H, W + 4:2 * W + 4], t), BLUE), 'right clip must be on the right, and blue'
    for path, frames, colour in ((lpath, left, RED), (rpath, right, BLUE)):
        c = read_video(path)
        assert c.shape == (T, H, W, 3)
        assert close(centre(c, 5), colour)
        assert np.abs(c.astype(int) - frames).mean() < 4  # the whole picture, not just one pixel


def test_mp4_is_h264_with_even_size(tmp_path):
    import subprocess, imageio_ffmpeg
    odd = np.zeros((5, 33, 47, 3), np.uint8); odd[..., 1] = 255
    p, = encode_pair_video(odd, odd, tmp_path / 'odd', fmt='mp4')
    v = read_video(p)
    assert v.shape[1] % 16 == 0 and v.shape[2] % 16 == 0
    assert close(v[2, 24 + 10, 10], GREEN)
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-hide_banner', '-i', str(p)], capture_output=True, text=True).stderr
    assert 'h264' in info and 'yuv420p' in info, info


def test_stored_pair_video_matches_its_segments(home):
    store = Store(home)
    pair_id, = collect_pairs(store, 'video-test', n_pairs=1, segment_length=20, fps=10, seed=4)
    p = store.pair(pair_id)
    run = store.run_dir('video-test')
    v = read_video(run / p['video'])
    assert v.shape == (20, 224, 608, 3)
    for side, box in (('left', slice(0, 300)), ('right', slice(304, 604))):
        seg = load_segment(store, p[side])
        assert seg.length == 20 and seg.frames is None
        n = int((~seg.padding).sum())
        # CartPole's observation is its state: redraw the real steps and compare with what the video shows
        redrawn = np.stack([cartpole_frame(o) for o in seg.obs[:n]])
        assert np.abs(v[:n, 24:224, box].astype(int) - redrawn).mean() < 3
        clip = read_video(run / p[f'{side}_video'])
        assert clip.shape == (20, 200, 300, 3)
        assert np.abs(clip[:n].astype(int) - redrawn).mean() < 3
        back = load_segment(store, p[side], frames=True)
        assert back.frames.shape == (20, 200, 300, 3)
