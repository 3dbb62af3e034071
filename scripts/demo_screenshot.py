"""Pictures of the editing page in use, taken from the real page in a real browser (README's picture and the
page's must-show screenshots in docs/demo/).

  python scripts/demo_screenshot.py                              # the model shipped with dss_jax
  python scripts/demo_screenshot.py --workdir=runs/demo          # a trained run
  python scripts/demo_screenshot.py --bundle=path/to/bundle      # another model bundle (dss_jax/bundle.py)

Starts the page (as `python -m dss_jax.demo` does), opens it in chromium through playwright, picks a source and
a reference, then moves one slider (--slider: a component index or the factor it is named after, e.g. hue;
default the strongest) to each of --values. Writes, as palette PNGs:

  --out                 the first screen at the first value, then the page's source, output and sliders at every
                        value, stacked (README's picture)
  --shots/first_screen.png  the page as it opens, before anything is clicked
  --shots/slider.png        source, output and sliders with the slider at each of --values (-3, 0, +3)
  --shots/styles.png        the row of random styles
  --shots/domains.png       the source in every domain

Needs the demo extra, playwright and a chromium binary (Debian's `chromium` package; playwright's own browser
download is not used).
"""

import os
import shutil
import socket
import sys
import tempfile

import numpy as np
from absl import app, flags
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dss_jax import bundle, console, demo  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A trained dss_jax workdir (default: the model shipped with dss_jax).')
flags.DEFINE_string('bundle', None, 'A model bundle folder instead of the shipped one.')
flags.DEFINE_string('out', 'docs/demo_page.png', 'README\'s picture.')
flags.DEFINE_string('shots', 'docs/demo', 'Folder of the must-show screenshots ("" for none).')
flags.DEFINE_integer('source', 3, 'Index of the source among the validation images.')
flags.DEFINE_string('domain', None, 'Target domain (default: the page\'s first).')
flags.DEFINE_integer('reference', 1, 'Index of the reference among the target domain\'s validation images.')
flags.DEFINE_string('slider', None, 'The slider to move: a component index or a factor name (default: the strongest).')
flags.DEFINE_list('values', ['-3', '0', '3'], 'Positions of the moved slider.')
flags.DEFINE_string('chromium', shutil.which('chromium') or '/usr/bin/chromium', 'The chromium binary.')

VIEWPORT = {'width': 1400, 'height': 1000}
LAUNCH_TRIES = 5


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _wait_for_new_output(tab, before):
  tab.wait_for_function('s => document.querySelector("#output img").src != s', arg=before, timeout=60_000)


def _patient_url_check():
  """gradio refuses to serve when its page does not answer one request within 3 s (it then asks for a share
  link): on a loaded machine it often does not. Here it is asked for up to a minute."""
  from gradio import networking
  quick = networking.url_ok

  def url_ok(url: str) -> bool:
    for _ in range(20):
      if quick(url):
        return True
    return False
  networking.url_ok = url_ok


def _editor_and_title():
  """The Editor of --workdir, --bundle or the shipped model, and the page's title (as `demo.serve` gives it)."""
  if FLAGS.workdir:
    editor = demo.make_editor(FLAGS.workdir)
    return editor, f'{os.path.basename(os.path.abspath(FLAGS.workdir))}, step {editor.translator.step}'
  path = FLAGS.bundle or bundle.SHIPPED
  editor = demo.make_shipped_editor(path=path)
  meta = bundle.info(path)
  name = 'the shipped model' if path == bundle.SHIPPED else os.path.basename(os.path.abspath(path))
  return editor, f"{name} ({meta.get('description', 'a model bundle')}, step {meta.get('steps')})"


def _slider(editor, domain) -> int:
  """The component --slider names (an index or a slider's factor), or the strongest one's."""
  shown = editor.slider_components(domain)
  if FLAGS.slider is None:
    return min(shown, key=lambda c: c.rank).index
  if FLAGS.slider.isdigit():
    return int(FLAGS.slider)
  named = [c.index for c in shown if c.factor and c.factor['factor'] == FLAGS.slider]
  if not named:
    raise app.UsageError(f'No slider moves {FLAGS.slider!r} most: the sliders are {[c.label for c in shown]}.')
  return named[0]


def _read(path) -> np.ndarray:
  with Image.open(path) as picture:
    return np.asarray(picture.convert('RGB'))


def _stack(shots) -> np.ndarray:
  width = max(s.shape[1] for s in shots)
  return np.concatenate([np.pad(s, ((0, 6), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in shots])


def _save(path, pixels) -> str:
  """A palette PNG (a third of the bytes of RGB), written under a temporary name, then renamed."""
  path = os.path.abspath(path)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + '.tmp.png'
  Image.fromarray(pixels).quantize(256).save(tmp, optimize=True)
  os.replace(tmp, path)
  return path


def main(argv):
  del argv
  from playwright.sync_api import sync_playwright
  console.import_tensorflow_quietly()
  editor, title = _editor_and_title()
  _patient_url_check()
  for attempt in range(LAUNCH_TRIES):  # gradio gives its server 5 s to start: too few on a loaded machine.
    try:
      page, url = demo.launch(editor, tempfile.mkdtemp(prefix='dss_demo_'), port=_free_port(), block=False,
                              title=title)
      break
    except (OSError, ValueError) as e:
      if attempt == LAUNCH_TRIES - 1:
        raise SystemExit(f'error: the page did not start ({e}).') from None
  domain = FLAGS.domain or editor.domains[0]
  moved = _slider(editor, domain)
  scratch = tempfile.mkdtemp()

  def shot(tab, name, selector=None, boxes=()):
    """A screenshot of the viewport, of one element, or of the box around several: [H, W, 3] uint8."""
    path = os.path.join(scratch, f'{name}.png')
    tab.mouse.move(0, 0)
    if selector:
      tab.locator(selector).screenshot(path=path)
    elif boxes:
      found = [tab.locator(s).bounding_box() for s in boxes]
      x0, y0 = min(b['x'] for b in found), min(b['y'] for b in found)
      x1, y1 = max(b['x'] + b['width'] for b in found), max(b['y'] + b['height'] for b in found)
      tab.screenshot(path=path, clip={'x': x0 - 8, 'y': y0 - 8, 'width': x1 - x0 + 16, 'height': y1 - y0 + 16},
                     full_page=True)
    else:
      tab.screenshot(path=path)
    return _read(path)

  written = []
  with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=FLAGS.chromium)
    tab = browser.new_page(viewport=VIEWPORT)
    tab.goto(url)
    tab.wait_for_selector('#output img', timeout=60_000)
    tab.wait_for_selector('#all_domains img', timeout=60_000)
    # The galleries' thumbnails load after the page: the first screen waits (a minute at most) for those in view.
    try:
      tab.wait_for_function('() => { const all = Array.from(document.querySelectorAll('
                            '"#sources img, #references img, #styles img, #all_domains img"))'
                            '.filter(i => i.getBoundingClientRect().top < window.innerHeight); '
                            'return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0); }',
                            timeout=60_000)
    except Exception:  # noqa: BLE001 - a thumbnail that never loads: the screen as it is.
      pass
    first_screen = shot(tab, 'first')
    if domain != editor.domains[0]:
      before = tab.get_attribute('#output img', 'src')
      tab.click('#domain input')
      tab.get_by_role('option', name=editor.domain_label(domain)).click()
      _wait_for_new_output(tab, before)
    tab.locator('#sources .thumbnail-item').nth(FLAGS.source).click()
    tab.wait_for_function('() => document.querySelector("#message").innerText.startsWith("Source")')
    before = tab.get_attribute('#output img', 'src')
    tab.locator('#references .thumbnail-item').nth(FLAGS.reference).click()
    _wait_for_new_output(tab, before)
    crops, whole = [], None
    for i, value in enumerate(FLAGS.values):
      before = tab.get_attribute('#output img', 'src')
      tab.locator(f'#slider_{moved} input[type=range]').fill(value)
      try:
        _wait_for_new_output(tab, before)
      except Exception:  # noqa: BLE001 - the same position as before: the same output.
        pass
      if i == 0:
        whole = shot(tab, 'whole')
      crops.append(shot(tab, f'slider{i}', boxes=('#source', '#output', *(f'#slider_{c}' for c in editor.sliders))))
    tab.wait_for_timeout(500)  # The row of domains follows the slider's last move.
    styles, domains = shot(tab, 'styles', '#styles'), shot(tab, 'domains', '#all_domains')
    browser.close()
  page.close()
  written.append(_save(FLAGS.out, _stack([whole, *crops])))
  if FLAGS.shots:
    for name, pixels in (('first_screen', first_screen), ('slider', _stack(crops)), ('styles', styles),
                         ('domains', domains)):
      written.append(_save(os.path.join(FLAGS.shots, f'{name}.png'), pixels))
  label = editor.components_of(domain)[moved].label
  print(f'Wrote {", ".join(os.path.relpath(w) for w in written)}: the page, then {label} at '
        f'{", ".join(FLAGS.values)}.')


if __name__ == '__main__':
  app.run(main)
