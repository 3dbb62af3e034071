"""Pictures of the editing page in use, taken from the real page in a real browser (README's picture).

  python scripts/demo_screenshot.py --workdir=runs/demo --out=docs/demo_page.png

Starts the page on the workdir (as `python -m dss_jax.demo` does), opens it in chromium through playwright,
picks a source and a reference, then moves the slider of the component with the largest effect to each
of --values. Writes --out: the whole page at the first value, and below it the page's source, output and
sliders at every value, stacked. Needs the demo extra, playwright and a chromium binary (Debian's
`chromium` package; playwright's own browser download is not used).
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

from dss_jax import console, demo  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A trained dss_jax workdir.')
flags.DEFINE_string('out', 'docs/demo_page.png', 'The picture to write.')
flags.DEFINE_integer('source', 3, 'Index of the source among the validation images.')
flags.DEFINE_string('domain', None, 'Target domain (default: the page\'s first).')
flags.DEFINE_integer('reference', 1, 'Index of the reference among the target domain\'s validation images.')
flags.DEFINE_list('values', ['-2', '0', '2'], 'Positions of the moved slider.')
flags.DEFINE_string('chromium', shutil.which('chromium') or '/usr/bin/chromium', 'The chromium binary.')
flags.mark_flags_as_required(['workdir'])


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _wait_for_new_output(tab, before):
  tab.wait_for_function('s => document.querySelector("#output img").src != s', arg=before, timeout=60_000)


def main(argv):
  del argv
  from playwright.sync_api import sync_playwright
  console.import_tensorflow_quietly()
  editor = demo.make_editor(FLAGS.workdir)
  t = editor.translator
  title = f'{os.path.basename(os.path.abspath(FLAGS.workdir))}, step {t.step}'
  page, url = demo.launch(editor, tempfile.mkdtemp(prefix='dss_demo_'), port=_free_port(), block=False, title=title)
  domain = FLAGS.domain or editor.domains[0]
  top = max(editor.slider_components(domain), key=lambda c: c.effect).index
  shots = []
  with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=FLAGS.chromium)
    tab = browser.new_page(viewport={'width': 1400, 'height': 900})
    tab.goto(url)
    tab.wait_for_selector('#output img', timeout=60_000)
    if domain != editor.domains[0]:
      before = tab.get_attribute('#output img', 'src')
      tab.click('#domain input')
      tab.get_by_role('option', name=domain).click()
      _wait_for_new_output(tab, before)
    before = tab.get_attribute('#output img', 'src')
    tab.locator('#sources .thumbnail-item').nth(FLAGS.source).click()
    tab.wait_for_function('s => document.querySelector("#source img") && '
                          'document.querySelector("#message").innerText.startsWith("Source")', arg=before)
    before = tab.get_attribute('#output img', 'src')
    tab.locator('#references .thumbnail-item').nth(FLAGS.reference).click()
    _wait_for_new_output(tab, before)
    for i, value in enumerate(FLAGS.values):
      before = tab.get_attribute('#output img', 'src')
      tab.locator(f'#slider_{top} input[type=range]').fill(value)
      try:
        _wait_for_new_output(tab, before)
      except Exception:  # noqa: BLE001 - the same position as before: the same output.
        pass
      tab.mouse.move(0, 0)
      if i == 0:
        whole = os.path.join(tempfile.mkdtemp(), 'page.png')
        tab.screenshot(path=whole)
        shots.append(np.asarray(Image.open(whole).convert('RGB')))
      boxes = [tab.locator(s).bounding_box() for s in ('#source', '#output', *(f'#slider_{c}' for c in editor.sliders))]
      x0, y0 = min(b['x'] for b in boxes), min(b['y'] for b in boxes)
      x1, y1 = max(b['x'] + b['width'] for b in boxes), max(b['y'] + b['height'] for b in boxes)
      crop = os.path.join(tempfile.mkdtemp(), 'crop.png')
      tab.screenshot(path=crop, clip={'x': x0 - 8, 'y': y0 - 8, 'width': x1 - x0 + 16, 'height': y1 - y0 + 16})
      shots.append(np.asarray(Image.open(crop).convert('RGB')))
    browser.close()
  page.close()
  width = max(s.shape[1] for s in shots)
  rows = [np.pad(s, ((0, 6), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in shots]
  path = os.path.abspath(FLAGS.out)
  tmp = path + '.tmp.png'
  Image.fromarray(np.concatenate(rows)).quantize(256).save(tmp, optimize=True)  # A palette: a third of the bytes.
  os.replace(tmp, path)
  print(f'Wrote {path}: the page, then component {top} ({editor.components_of(domain)[top].label}) at '
        f'{", ".join(FLAGS.values)}.')


if __name__ == '__main__':
  app.run(main)
