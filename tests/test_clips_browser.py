"""A real browser (Debian's chromium, as the labeling panel uses) plays our pair video with the right size,
length and colours: players pick the YUV->RGB matrix from the stream's tags, so decoding with ffmpeg is not enough."""
import shutil
import numpy as np
import pytest

from rlhf_nb.video import encode_pair_video

playwright = pytest.importorskip('playwright.sync_api')


@pytest.mark.skipif(shutil.which('chromium') is None, reason='needs chromium (make chromium)')
def test_chromium_plays_pair_video_in_colour(tmp_path):
    T = 15
    red = np.full((T, 64, 96, 3), 40, np.uint8); red[:, 16:48, 16:48] = (255, 0, 0)
    green = red.copy(); green[:, 16:48, 16:48] = (0, 255, 0)
    video, = encode_pair_video(red, green, tmp_path / 'pair', fps=15, fmt='mp4')
    page_file = tmp_path / 'page.html'
    page_file.write_text(f'<video id=v src="{video.name}" muted></video><canvas id=c width=208 height=96></canvas>')
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which('chromium'), args=['--no-sandbox', '--allow-file-access-from-files'])  # file:// video into a canvas
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("document.getElementById('v').readyState >= 2", timeout=20000)
            w, h, duration = page.evaluate("(() => { const v = document.getElementById('v'); return [v.videoWidth, v.videoHeight, v.duration]; })()")
            left, right = page.evaluate("""(() => { const v = document.getElementById('v'), x = document.getElementById('c').getContext('2d');
                x.drawImage(v, 0, 0);
                return [Array.from(x.getImageData(32, 24 + 32, 1, 1).data), Array.from(x.getImageData(96 + 4 + 32, 24 + 32, 1, 1).data)]; })()""")
        finally: browser.close()
    assert (w, h) == (208, 96)  # 96 + 4 + 96 wide, 24 + 64 high, padded to 16s
    assert abs(duration - T / 15) < 0.1
    assert np.abs(np.array(left[:3]) - (255, 0, 0)).max() <= 30, left
    assert np.abs(np.array(right[:3]) - (0, 255, 0)).max() <= 30, right
