"""The labeling panel in a real browser: JupyterLab 4 on 127.0.0.1 with a token, Debian's Chromium driven by Playwright.

`test_panel_in_browser`, in JupyterLab 4 and in Notebook 7 (the same server): a notebook shows the panel for a run that
a real RLHF loop, started in the background from the notebook, fills with pairs and then trains on your labels. Checks:
a panel rendered under the pointer takes the keys; Escape gives them back (a key then reaches the notebook); no layout
jump when the first pair arrives (the panel's top and height stay); the video plays and half speed lasts twice as long;
a click on Left, the right arrow, Backspace (undo) and space (tie) reach the store and the counts; a stray `x` cuts no
cell; a label pressed within the refusal window is not stored; typing `1 2 0 u` in a code cell with the pointer over
the panel stores no label and the text lands in the cell; the panel shows "done" with the final return when the
background run ends, and the run's messages reach the notebook. It also times each key press to the next pair's video
in the page (`KEYS_TO_NEXT_PAIR_MS`, median of 10, printed; run with -s to see it).

`test_panel_states_and_themes`, in JupyterLab at 760 px wide, light and dark theme: the four states a run's panel
goes through (empty, waiting for labels, training, done), with no sideways scrolling and readable grey text; each is
saved as an image of the panel in $RLHF_NB_SCREENSHOTS (default /tmp): `RLHF_NB_SCREENSHOTS=docs` makes the README's.
The light theme's run is CartPole's; the dark theme's is Hopper-v5, continuous control rendered by MuJoCo headless: its
pair video plays in the panel (its own size, the clock advancing) and takes the labels like any other.
Skipped, with the reason, only where chromium or playwright cannot be found (`make test` installs chromium).
"""
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run']
FRONT_ENDS = {'lab': '/lab/tree/{nb}', 'notebook7': '/notebooks/{nb}'}  # JupyterLab 4, Notebook 7: one server
SHOTS = Path(os.environ.get('RLHF_NB_SCREENSHOTS', '/tmp'))
N_PAIRS = 14  # the loop's pretraining pairs: 3 labeled one by one, then 11 key presses (10 of them timed)
THEMES = {'light': 'JupyterLab Light', 'dark': 'JupyterLab Dark'}
THEME_ENVS = {'light': 'CartPole-v1', 'dark': 'Hopper-v5'}  # a discrete run and a continuous-control (MuJoCo) one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _until(pred, timeout, what, every=0.1):
    "Call `pred` until it returns something truthy; raise `TimeoutError` naming `what` after `timeout` seconds."
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v: return v
        # An ordinary exception, not `pytest.fail` (a BaseException): the tests' `except Exception` then prints the page.
        if time.monotonic() > end: raise TimeoutError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(every)


def _notebook(cells: list[str]) -> dict:
    cells = [dict(cell_type='code', execution_count=None, id=f'cell{i}', metadata={}, outputs=[], source=src)
             for i, src in enumerate(cells)]
    return dict(cells=cells, metadata=dict(kernelspec=dict(display_name='Python 3 (ipykernel)', language='python',
                                                            name='python3')), nbformat=4, nbformat_minor=5)


def _loop_notebook(home: Path, run: str) -> dict:
    "A panel on run `run`, an RLHF loop on it (a person's: it waits for the labels) started by the next cell, a scratch cell."
    panel = ("from pathlib import Path\n"
             "from rlhf_nb.store import Store\n"
             "from rlhf_nb.labeling import LabelingPanel\n"
             "from rlhf_nb.rlhf import RLHF, RLHFConfig\n"
             f"store = Store(Path({str(home)!r}))\n"
             f"loop = RLHF({run!r}, RLHFConfig(teacher='human', pretrain_pairs={N_PAIRS}, label_budget={N_PAIRS}, "
             "total_timesteps=512, eval_every=512, eval_episodes=1, target_return=None, segment_length=20, "
             "reward_train=dict(n_members=1, max_epochs=30)), store=store)\n"
             f"panel = LabelingPanel({run!r}, store=store, poll_seconds=0.5)\n"
             "panel")
    return _notebook([panel, 'loop.start()', '# scratch'])


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on a free local port with fresh config, workspace, settings and runtime folders."
    chromium = shutil.which('chromium')
    if chromium is None: pytest.skip('chromium not found on PATH (install Debian\'s chromium: `make chromium`)')
    try: import playwright.sync_api  # noqa: F401
    except ImportError: pytest.skip('the playwright Python package is not installed (pip install -e ".[dev]")')
    from rlhf_nb.store import Store
    tmp_path = tmp_path_factory.mktemp('browser')
    home = tmp_path / 'home'
    store = Store(home)
    root = tmp_path / 'nbroot'; root.mkdir()
    for fe in FRONT_ENDS: (root / f'panel-{fe}.ipynb').write_text(json.dumps(_loop_notebook(home, f'run-{fe}')))
    for theme in THEMES:
        store.create_run(f'states-{theme}', THEME_ENVS[theme])
        (root / f'states-{theme}.ipynb').write_text(json.dumps(_notebook([
            "from pathlib import Path\nfrom rlhf_nb.store import Store\nfrom rlhf_nb.labeling import LabelingPanel\n"
            f"LabelingPanel('states-{theme}', store=Store(Path({str(home)!r})), poll_seconds=0.3)"])))
    dirs = {k: tmp_path / k for k in ('config', 'workspaces', 'settings', 'runtime')}
    for d in dirs.values(): d.mkdir()
    news = dirs['settings'] / '@jupyterlab' / 'apputils-extension' / 'notification.jupyterlab-settings'
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({'fetchNews': 'false'}))  # no "notified about news?" box over the notebook
    port, token = _free_port(), 'rlhf-nb-browser-test-token'
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs['config']), JUPYTER_RUNTIME_DIR=str(dirs['runtime']),
               JUPYTERLAB_SETTINGS_DIR=str(dirs['settings']), JUPYTERLAB_WORKSPACES_DIR=str(dirs['workspaces']),
               RLHF_NB_HOME=str(tmp_path / 'unused-home'), SDL_VIDEODRIVER='dummy')
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
           f'--LabApp.workspaces_dir={dirs["workspaces"]}', f'--LabApp.user_settings_dir={dirs["settings"]}',
           '--LabApp.news_url=', '--LabApp.extension_manager=readonly'] + (['--allow-root'] if os.geteuid() == 0 else [])
    log = open(tmp_path / 'lab.log', 'w')
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    def up():
        if proc.poll() is not None: pytest.fail(f'jupyter lab exited: {(tmp_path / "lab.log").read_text()[-3000:]}')
        try: return urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2).status == 200
        except OSError: return False
    try:
        _until(up, 45, 'jupyter lab to answer', every=0.3)
        yield dict(url=url, token=token, store=store, chromium=chromium, log=tmp_path / 'lab.log', settings=dirs['settings'])
    finally:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait(timeout=10)
        log.close()


def _kernel_ready(lab, notebook: str) -> bool:
    "The server's word: `notebook` has a kernel that is idle and that the page is connected to."
    with urllib.request.urlopen(f"{lab['url']}/api/sessions?token={lab['token']}", timeout=5) as r: sessions = json.load(r)
    return any(s['path'].endswith(notebook) and s['kernel']['execution_state'] == 'idle' and s['kernel']['connections'] > 0
               for s in sessions)


def _open(page, lab, path: str):
    """Open a notebook and wait for its kernel, accepting the notebook's own kernel if JupyterLab asks.

    The kernel is ready when the server says it is idle with the page connected, and the page says "Idle" too: on a
    slow machine the page's indicator has read idle while its status bar still said "Connecting"."""
    page.goto(lab['url'] + path + f"?token={lab['token']}")
    page.locator('.jp-Notebook').first.wait_for(timeout=40_000)
    page.get_by_text('Kernel status: Idle').first.wait_for(state='attached', timeout=40_000)
    time.sleep(1.0)
    dialog = page.locator('.jp-Dialog')
    if dialog.count(): dialog.get_by_role('button', name='Select').click(); dialog.wait_for(state='detached')
    _until(lambda: _kernel_ready(lab, path.rsplit('/', 1)[-1]), 120, 'the kernel to be idle and connected', every=0.5)
    page.get_by_text('Kernel status: Idle').first.wait_for(state='attached', timeout=40_000)


def _cell(page, text: str):
    return page.locator('.jp-Notebook .jp-Cell').filter(has_text=text).first


# A cell's first run imports torch, gymnasium and the library: seconds on an idle machine, minutes on two cores that
# other tests keep busy. Waiting for the cell to finish, not for a fixed time, keeps that load out of the verdict.
CELL_RUN_TIMEOUT = 300
CELL_START_TIMEOUT = 20  # a Shift+Enter the notebook took shows `[*]` at once, even while the kernel is still starting


def _page_state(page) -> str:
    "What the page shows that tells why a cell did not run: prompts, kernel status, open dialogs, the focused element."
    return (f"prompts {page.locator('.jp-InputPrompt').all_inner_texts()}, "
            f"kernel {page.locator('.jp-StatusBar-Widget').all_inner_texts()}, "
            f"dialogs {page.locator('.jp-Dialog').all_inner_texts()}, "
            f"focus {page.evaluate('() => document.activeElement && document.activeElement.className')!r}")


def _run_cell(page, cell, what: str, command_mode=False, then=None):
    """Run `cell` as a person does and wait until it has run: its prompt shows an execution count.

    A person clicks into the cell, presses Escape if `command_mode` (as after running cells), then Shift+Enter; `then()`
    follows each press. A press the notebook did not take (the prompt still `[ ]` after `CELL_START_TIMEOUT` s:
    something else held the focus while the page settled) is printed with the page's state and made once more; a cell
    that runs long on a loaded machine is waited for, up to `CELL_RUN_TIMEOUT` s."""
    prompt = cell.locator('.jp-InputPrompt')
    def started(): return re.search(r'\[(\*|\d+)\]', prompt.inner_text())
    def press():
        cell.locator('.jp-InputArea-editor').click()
        if command_mode: page.keyboard.press('Escape')
        page.keyboard.press('Shift+Enter')
        if then: then()
    press()
    try: _until(started, CELL_START_TIMEOUT, f'{what} to start')
    except TimeoutError:
        print(f'{what} did not start after {CELL_START_TIMEOUT} s; pressing again. Page: {_page_state(page)}')
        press()
        _until(started, CELL_START_TIMEOUT, f'{what} to start after a second press')
    _until(lambda: re.search(r'\[\d+\]', prompt.inner_text()), CELL_RUN_TIMEOUT, f'{what} to finish running')


VIDEO_STATE = """() => { const v = document.querySelector('.rlhf-labeling-panel video');
  return v && getComputedStyle(v).display !== 'none' &&
         {paused: v.paused, t: v.currentTime, ready: v.readyState, duration: v.duration, src: v.src,
          w: v.videoWidth, error: v.error && v.error.code}; }"""

# Installed before the page's own scripts, so this keydown listener runs before the panel's (which stops the event):
# the time of each key press, to time it to the next pair's video.
KEY_CLOCK = """window.addEventListener('keydown', (e) => { window.__rlhfKeyT = performance.now(); }, true);"""
NEXT_VIDEO = """() => { window.__rlhfNext = null;
  const v = document.querySelector('.rlhf-labeling-panel video');
  const o = new MutationObserver(() => { window.__rlhfNext = performance.now(); o.disconnect(); });
  o.observe(v, { attributes: true, attributeFilter: ['src'] }); }"""
# Every frame: the panel's top and height, and whether a video is shown.
SAMPLE_LAYOUT = """() => { window.__rlhfRects = []; const p = document.querySelector('.rlhf-labeling-panel');
  const f = () => { const r = p.getBoundingClientRect(), v = p.querySelector('video');
    window.__rlhfRects.push([performance.now(), r.top, r.height, !!v && getComputedStyle(v).display !== 'none']);
    if (window.__rlhfRects.length < 20000) requestAnimationFrame(f); };
  requestAnimationFrame(f); }"""


@pytest.mark.parametrize('front_end', list(FRONT_ENDS))
def test_panel_in_browser(lab, front_end):
    from playwright.sync_api import sync_playwright
    store, RUN = lab['store'], f'run-{front_end}'
    def labels(): return [l for l in store.labels(RUN) if not l['undone']] if store.has_run(RUN) else []
    def label_of(pair_id):
        lab_ = store.latest_label(pair_id)
        return None if lab_ is None else lab_['label']
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab['chromium'], headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': 1200, 'height': 1000})
        try:
            page.set_default_timeout(30_000)
            page.add_init_script(KEY_CLOCK)
            _open(page, lab, FRONT_ENDS[front_end].format(nb=f'panel-{front_end}.ipynb'))
            panel = page.locator('.rlhf-labeling-panel')
            def text(): return panel.inner_text()
            def keys_on(): return 'rlhf-keys-on' in (panel.get_attribute('class') or '')

            # Run the panel's cell from command mode, then rest the pointer where the panel will appear: it takes the keys.
            first = page.locator('.jp-Notebook .jp-Cell').first
            first_input = first.locator('.jp-InputArea')
            first_input.wait_for()  # on screen: on a slow machine the cell has no box for a while after the page opens
            box = first_input.bounding_box()
            pointer = (box['x'] + 200, box['y'] + box['height'] + 180)  # where the panel will appear
            _run_cell(page, first, "the panel's cell", command_mode=True, then=lambda: page.mouse.move(*pointer))
            panel.wait_for(timeout=10_000)
            b = panel.bounding_box()
            assert b['y'] < pointer[1] < b['y'] + b['height'], 'the panel did not appear under the pointer'
            _until(keys_on, 5, 'the panel that appeared under the pointer to take the keys')
            assert panel.locator('.rlhf-k-on').is_visible() and not panel.locator('.rlhf-k-off').is_visible()
            assert 'This run has no pairs yet' in text()
            empty = panel.bounding_box()

            # Escape gives the keys back: the next key reaches the notebook ('b' inserts a cell below).
            n_cells = page.locator('.jp-Notebook .jp-Cell').count()
            page.keyboard.press('Escape')
            _until(lambda: not keys_on(), 5, 'Escape to give the keys back')
            assert panel.locator('.rlhf-k-off').is_visible()
            page.keyboard.press('b')
            _until(lambda: page.locator('.jp-Notebook .jp-Cell').count() == n_cells + 1, 5, "'b' to reach the notebook")

            # Start the loop in the background; it collects the pairs. The panel must not move when the first arrives.
            page.evaluate(SAMPLE_LAYOUT)
            _run_cell(page, _cell(page, 'loop.start()'), 'the cell that starts the loop')
            _until(lambda: page.evaluate(VIDEO_STATE), 180, 'the first pair from the loop')
            time.sleep(1.0)
            rects = page.evaluate('() => window.__rlhfRects')
            arrival = next(i for i, r in enumerate(rects) if r[3])
            assert arrival > 0, 'the layout was not sampled before the first pair arrived'
            t, top0, h0, _ = rects[arrival - 1]
            after = [r for r in rects[arrival:] if r[0] - t < 1000]
            assert all(abs(r[1] - top0) <= 1 and abs(r[2] - h0) <= 1 for r in after), (rects[arrival - 1], after[:5])
            assert abs(h0 - empty['height']) <= 1, (h0, empty)  # the same size as when it was empty
            pairs = store.pairs(RUN)

            # The video plays: not paused and its clock advances.
            first_state = _until(lambda: (s := page.evaluate(VIDEO_STATE)) and s['ready'] >= 2 and s, 15, 'the video to load')
            time.sleep(0.6)
            later = page.evaluate(VIDEO_STATE)
            assert later['error'] is None, later
            assert not later['paused'], later
            assert later['t'] != first_state['t'], (first_state, later)
            assert later['w'] > 0
            normal_duration = later['duration']

            # Half speed: the same clip, twice as long.
            panel.get_by_role('button', name='½×').click()
            slow = _until(lambda: (s := page.evaluate(VIDEO_STATE)) and s['src'] != later['src'] and s['ready'] >= 1
                          and s, 10, 'the slowed video')
            assert abs(slow['duration'] - 2 * normal_duration) < 0.15, (normal_duration, slow['duration'])
            panel.get_by_role('button', name='1×').click()

            def counts_on_panel():
                m = re.search(r'(\d+) of (\d+) labeled', text())
                return m and (int(m.group(1)), int(m.group(2)))
            _until(lambda: counts_on_panel() == (0, N_PAIRS), 10, f'the panel to count 0 of {N_PAIRS} labeled')
            # The loop says it waits once it has written the last pair; the panel reads that at its next poll.
            _until(lambda: 'training loop: waiting for your labels' in text(), 10, 'the panel to say the loop waits')

            # Click Left: the first pair gets 'left' in the store and the next video replaces it.
            src0 = page.evaluate(VIDEO_STATE)['src']
            panel.get_by_role('button', name=re.compile('^Left')).click()
            _until(lambda: page.evaluate(VIDEO_STATE)['src'] != src0, 10, 'the next video after a click')
            _until(lambda: label_of(pairs[0]['id']) == 'left', 10, "pair 1's label in the store")
            assert store.latest_label(pairs[0]['id'])['labeler'] == 'human'
            _until(lambda: counts_on_panel() == (1, N_PAIRS), 10, 'the panel to say 1 labeled')

            # Keys (the click gave the panel the keys): the right arrow labels the second pair 'right', once it was seen.
            assert keys_on()
            time.sleep(0.4)
            page.keyboard.press('ArrowRight')
            _until(lambda: label_of(pairs[1]['id']) == 'right', 10, "pair 2's label from the ArrowRight key")
            _until(lambda: counts_on_panel() == (2, N_PAIRS), 10, 'the panel to say 2 labeled')

            # A key the panel ignores must not reach the notebook: 'x' would cut the cell in command mode.
            n_cells = page.locator('.jp-Notebook .jp-Cell').count()
            page.keyboard.press('x')
            time.sleep(0.5)
            assert page.locator('.jp-Notebook .jp-Cell').count() == n_cells
            assert page.locator('.rlhf-labeling-panel').count() == 1

            # Backspace undoes the latest label: pair 2 is pending again and back on screen, as the run's pair #2.
            page.keyboard.press('Backspace')
            _until(lambda: label_of(pairs[1]['id']) is None, 10, 'the undo to reach the store')
            _until(lambda: counts_on_panel() == (1, N_PAIRS), 10, 'the panel to say 1 labeled after undo')
            assert 'Pair #2 ·' in text() and 'Undid your label on pair #2' in text()

            # Space is a tie, once: it must not also press the button that has the focus since the click.
            n_labels = len(store.labels(RUN))
            time.sleep(0.4)
            page.keyboard.press(' ')
            _until(lambda: label_of(pairs[1]['id']) == 'tie', 10, "pair 2's tie from the space key")
            time.sleep(0.5)
            assert len(store.labels(RUN)) == n_labels + 1
            _until(lambda: counts_on_panel() == (2, N_PAIRS), 10, 'the panel to say 2 labeled after the tie')
            assert 'Undid your label' not in text()  # messages clear when the next pair shows

            # Two keys at once: the first labels pair 3; the second comes before pair 4 could be seen and is refused.
            time.sleep(0.4)
            page.keyboard.press('1'); page.keyboard.press('2')
            _until(lambda: 'Not stored: right came' in text(), 10, 'the note that the second key was refused')
            assert (label_of(pairs[2]['id']), label_of(pairs[3]['id'])) == ('left', None)
            assert len(labels()) == 3

            # Typing in a code cell with the pointer over the panel: the text lands in the cell, no label is stored.
            scratch = _cell(page, '# scratch')
            scratch.locator('.jp-InputArea-editor').click()
            assert not keys_on()
            panel.hover()
            page.keyboard.press('End')
            page.keyboard.type(' 1 2 0 u')
            _until(lambda: '# scratch 1 2 0 u' in scratch.locator('.jp-InputArea-editor').inner_text(), 5, 'the text in the cell')
            time.sleep(1.0)
            assert len(labels()) == 3 and not keys_on() and counts_on_panel() == (3, N_PAIRS)
            page.keyboard.press('Escape')

            # The rest by keys, each after the pair was seen: the page times every key press to the next pair's video.
            panel.click(position={'x': 6, 'y': 6})  # a click on the panel gives it the keys
            assert keys_on()
            ms = []
            for k in range(N_PAIRS - 3):
                time.sleep(0.4)
                last = k == N_PAIRS - 4
                if not last: page.evaluate(NEXT_VIDEO)
                page.keyboard.press('1' if k % 2 else '2')
                if last: break
                ms.append(_until(lambda: page.evaluate('() => window.__rlhfNext && window.__rlhfNext - window.__rlhfKeyT'),
                                 10, f'the video after key press {k + 1}'))
            _until(lambda: len(labels()) == N_PAIRS, 10, 'every pair labeled')
            print(f'KEYS_TO_NEXT_PAIR_MS {front_end}: median {statistics.median(ms):.1f} ms, '
                  f'max {max(ms):.1f} ms over {len(ms)} key presses: {[round(x) for x in ms]}')

            # The loop trains on the labels and ends: the panel says done, with the final return from the store.
            _until(lambda: 'training loop: done: final true return' in text(), 180, 'the panel to say the run is done')
            phase = store.get_run(RUN)['phase']
            assert phase['state'] == 'done' and f"final true return {phase['true_return']:.1f}" in text()
            assert 'The run is done' in text()
            def loop_log(): return _cell(page, 'loop.start()').locator('.jp-Cell-outputArea').inner_text()
            _until(lambda: all(w in loop_log() for w in (f'{N_PAIRS} pairs of run', 'reward model 0:', 'true return')),
                   10, "the loop's messages in the notebook")  # on failure, the outputs are printed below
            page.screenshot(path=str(SHOTS / f'rlhf_nb_panel_{front_end}.png'), full_page=False)
            page.set_viewport_size({'width': 760, 'height': 1000})
            time.sleep(0.5)
            assert page.evaluate(READABILITY)['wide'] == [], 'sideways scrolling at 760 px'
            # The speed target (median <= 30 ms) is printed above, not asserted: its benchmark is bench/bench_panel.py.
            # The same code took 15-20 ms on an idle machine and a median of 252 ms with the whole machine throttled to a
            # quarter of a core, two notebooks running beside it; so only what a slow machine cannot explain fails: a
            # second per key press, as when the page reloads or the panel is drawn anew.
            assert statistics.median(ms) <= 1000, ms
        except Exception:
            page.screenshot(path=str(SHOTS / f'rlhf_nb_panel_{front_end}_failed.png'))
            print('page at failure:', _page_state(page), 'outputs', page.locator('.jp-OutputArea').all_inner_texts())
            print('lab log:', lab['log'].read_text()[-3000:])
            raise
        finally:
            browser.close()


# Contrast of the panel's grey text against the page behind it (WCAG's formula), and any sideways scrolling.
READABILITY = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => { const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                       if (c.length < 4 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const over = (fg, back) => fg.length < 4 ? fg.slice(0, 3) : fg.slice(0, 3).map((x, i) => fg[3] * x + (1 - fg[3]) * back[i]);
  const contrast = (el) => { const back = bg(el), fg = over(rgb(getComputedStyle(el).color), back);
                             const [a, b] = [lum(fg), lum(back)].sort((x, y) => y - x); return (a + 0.05) / (b + 0.05); };
  const p = document.querySelector('.rlhf-labeling-panel');
  const grey = [...p.querySelectorAll('.rlhf-muted')].filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden');
  const wide = [p, ...p.querySelectorAll('*'), ...document.querySelectorAll('.jp-WindowedPanel-outer, .jp-Notebook, .jp-OutputArea')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .map(e => e.className);
  return { contrast: Math.min(...grey.map(contrast)), grey: grey.length, wide, panelWidth: p.getBoundingClientRect().width };
}"""


def test_panel_states_and_themes(lab):
    "Empty, waiting, training, done: in the light and the dark theme at 760 px, readable, no sideways scrolling; saved."
    from playwright.sync_api import sync_playwright
    from rlhf_nb.clips import collect_pairs
    from rlhf_nb.video import read_video
    store, me = lab['store'], dict(pid=os.getpid(), host=socket.gethostname())
    themes = lab['settings'] / '@jupyterlab' / 'apputils-extension' / 'themes.jupyterlab-settings'
    themes.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab['chromium'], headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': 760, 'height': 900})
        try:
            page.set_default_timeout(30_000)
            for theme, theme_name in THEMES.items():
                themes.write_text(json.dumps({'theme': theme_name}))
                run = f'states-{theme}'
                _open(page, lab, f'/lab/workspaces/{theme}/tree/states-{theme}.ipynb')  # a workspace with only this notebook
                assert page.evaluate("() => document.body.dataset.jpThemeName") == theme_name
                _run_cell(page, page.locator('.jp-Notebook .jp-Cell').first, f"the {theme} theme's panel cell")
                panel = page.locator('.rlhf-labeling-panel')
                panel.wait_for(timeout=10_000)
                page.mouse.move(5, 5)  # the pointer away from the panel: "keys: off", but while labeling
                def readable(where):
                    r = page.evaluate(READABILITY)
                    assert r['wide'] == [], f'sideways scrolling at 760 px in the {theme} theme, {where}: {r}'
                    assert r['grey'] >= 3 and r['contrast'] >= 4.5, f'grey text in the {theme} theme, {where}: {r}'
                def shot(state, wait_for):
                    _until(lambda: wait_for in panel.inner_text(), 20, f'the {state} panel in the {theme} theme')
                    time.sleep(0.8)
                    readable(state)
                    panel.screenshot(path=str(SHOTS / f'panel_{theme}_{state}.png'), animations='disabled')
                _until(lambda: 'This run has no pairs yet' in panel.inner_text(), 20, 'the empty panel')
                readable('beside the file browser')  # the narrowest place: JupyterLab's file browser open
                page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current').click()  # close it
                shot('empty', 'This run has no pairs yet')
                collect_pairs(store, run, n_pairs=3, segment_length=25, seed=11)
                store.update_run(run, phase=dict(state='waiting', **me))
                first = _until(lambda: (s := page.evaluate(VIDEO_STATE)) and s['ready'] >= 2 and s, 20, 'the video')
                time.sleep(0.6)
                later = page.evaluate(VIDEO_STATE)  # it plays: no error, not paused, the clock advancing, its own width
                width = read_video(store.run_dir(run) / store.pairs(run)[0]['video']).shape[2]  # (T, H, W, 3)
                assert (later['error'], later['paused'], later['w']) == (None, False, width) and later['t'] != first['t'], (first, later)
                panel.click(position={'x': 6, 'y': 6})  # keys: on
                shot('waiting', 'waiting for your labels (3)')
                for name in ('Left', 'Right', 'Left'):  # a person's labels, each after the pair was seen
                    time.sleep(0.4)
                    panel.get_by_role('button', name=re.compile('^' + name)).click()
                _until(lambda: store.pending_pairs(run) == [], 10, 'the three labels')
                page.mouse.move(5, 5)  # keys: off again
                store.update_run(run, phase=dict(state='training', what='policy', env_step=20_480, eval=187.4, **me))
                shot('training', 'env step 20,480')
                store.update_run(run, phase=dict(state='done', true_return=500.0, true_return_std=0.0, env_step=61_440, **me))
                shot('done', 'The run is done')
        except Exception:
            page.screenshot(path=str(SHOTS / 'rlhf_nb_panel_states_failed.png'))
            print('page at failure:', _page_state(page))
            print('lab log:', lab['log'].read_text()[-3000:])
            raise
        finally:
            themes.unlink(missing_ok=True)
            browser.close()
