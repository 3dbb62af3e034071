"""The editing page: its computations (Editor, uploads, labels) and the page itself in a real browser.

The browser tests start the page in this process on the tiny model test_inference.py trains once per session
and drive Debian's chromium through playwright; they skip, saying why, without gradio, playwright or a
chromium binary (.ci/run installs all three).
"""

import os
import shutil
import socket

import numpy as np
import pytest
from conftest import tiny_config
from PIL import Image
from test_inference import trained_workdir

from dss_jax import demo, inference

CHROMIUM = os.environ.get('DSS_JAX_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.fixture(scope='module')
def translator():
  return inference.Translator.from_workdir(trained_workdir())


@pytest.fixture(scope='module')
def val_images(translator):
  from dss_jax import sample
  return sample._val_split(translator.config, per_domain=2)


@pytest.fixture(scope='module')
def editor(translator, val_images):
  return demo.Editor(translator, *val_images, effect_sources=2)


# ---------------------------------------------------------------- without a browser


def test_sliders_edit_the_flow_z_as_traverse_does(editor, translator, val_images):
  x = val_images[0][0]
  z = translator.sample_z(1, seed=4)[0]
  coords = editor.coordinates(3, z=z)
  np.testing.assert_array_equal(coords, z)  # DSS: the sliders are z itself.
  coords[1] = 1.7
  expected = translator.traverse(x[None], 3, 1, [1.7], z=z[None])[0, 0]
  np.testing.assert_allclose(editor.render(x, 3, coords), expected, atol=1e-5)
  # A reference's coordinates are its Gaussian coordinate, and render it back.
  ref = val_images[0][-1]
  coords = editor.coordinates(3, reference=ref)
  np.testing.assert_allclose(coords, translator.reference_to_z(ref[None], 3)[0], atol=1e-6)
  np.testing.assert_allclose(editor.render(x, 3, coords), translator.translate(x[None], 3, reference=ref[None])[0],
                             atol=1e-4)


def test_stargan_v2_sliders_edit_the_code_in_std_units(val_images):
  import jax

  from dss_jax import models, state
  config = tiny_config('stargan_v2')
  params = state.ema_trees(state.group(jax.jit(models.build(config).init)(jax.random.key(1))))
  t = inference.Translator(config, params)
  editor = demo.Editor(t, *val_images, effect_sources=1)
  assert editor.space == 'style' and len(editor.sliders) == config.style_dim
  x, z = val_images[0][0], t.sample_z(1, seed=2)[0]
  coords = editor.coordinates(2, z=z)
  np.testing.assert_allclose(editor.style(coords, 2), t.style_from_z(z[None], 2)[0], atol=1e-5)
  coords[0] = -1.5
  expected = t.traverse(x[None], 2, 0, [-1.5], z=z[None], space='style')[0, 0]
  np.testing.assert_allclose(editor.render(x, 2, coords), expected, atol=1e-5)


def test_components_are_labelled_and_ranked_by_their_effect(editor, translator, val_images):
  described = editor.components_of(0)
  assert [c.index for c in described] == list(range(translator.style_dim))
  effects = translator.component_effects(val_images[0][:2], 0, delta=demo.SLIDER_RANGE)  # The slider's whole range.
  np.testing.assert_allclose([c.effect for c in described], effects, rtol=1e-4)
  assert sorted(c.rank for c in described) == list(range(1, translator.style_dim + 1))
  assert described[int(np.argmax(effects))].rank == 1
  assert all(c.label.startswith(f'component {c.index}: ') for c in described)


def test_domains_are_named_by_what_makes_them_differ(editor, translator):
  assert editor.domain_labels == ['domain0: orange objects, dark background',
                                  'domain1: yellow-green objects, mid-grey background',
                                  'domain2: green objects, light background',
                                  'domain3: cyan objects, dark grey background',
                                  'domain4: blue objects, light grey background']
  assert translator.domains == [f'domain{k}' for k in range(5)]  # The model's own names stay.
  assert editor.domain_label('domain3') == editor.domain_label(3) == editor.domain_labels[3]
  import ml_collections
  assert demo.describe_domains(ml_collections.ConfigDict({'dataset': 'afhq'}), ['cat', 'dog']) == ['cat', 'dog']


def test_sliders_of_a_bundle_are_named_after_the_true_factor_they_move(translator, val_images, tmp_path):
  from dss_jax import bundle
  sliders = [{'component': 0, 'factor': 'hue', 'share': 0.93, 'share_inner': 0.97, 'factor_inner': 'hue',
              'share_outer': 0.85, 'factor_outer': 'background'},
             {'component': 1, 'factor': 'background', 'share': 0.6},
             {'component': 2, 'factor': 'stripes', 'share': 0.8},
             {'component': 3, 'factor': 'hue', 'share': 0.4}]
  path = bundle.write(str(tmp_path / 'b'), translator, {'sliders': sliders})
  editor = demo.Editor(translator, *val_images, effect_sources=2, factors=bundle.info(path)['sliders'])
  labels = [c.label for c in editor.components_of(0)]
  assert labels == ['hue (component 0)', 'mostly background', 'stripes', 'hue (component 3) and more']
  assert editor.components_of(0)[0].info.startswith(
      '93% of its style change from -3 to +3 is hue (within ±1: 97% hue; beyond: 85% background); the picture '
      'changes by ')
  assert [c.name for c in editor.components_of(2)] == ['hue (component 0)', 'background', 'stripes',
                                                      'hue (component 3)']  # The same names in every domain.


def test_random_styles_every_domain_and_the_strip_draw_what_render_draws(editor, translator, val_images):
  x = val_images[0][0]
  np.testing.assert_array_equal(editor.seed_coordinates(2, 7), translator.sample_z(1, seed=7)[0])  # A seed: a z.
  seeds = range(5, 5 + demo.STYLE_COUNT)
  row = editor.random_styles(x, 2, seeds, psi=0.5)
  for s, picture in zip(seeds, row):  # Truncation as the library's: F(psi z).
    np.testing.assert_allclose(picture, translator.translate(x[None], 2, z=translator.sample_z(1, seed=s), psi=0.5)[0],
                               atol=1e-4)
  coords = editor.seed_coordinates(0, 3)
  for k, picture in enumerate(editor.every_domain(x, coords)):
    np.testing.assert_allclose(picture, editor.render(x, k, coords), atol=1e-4)
  end = editor.coordinates(1, reference=val_images[0][3])
  pictures, steps = editor.strip(x, 1, coords, end)
  assert len(pictures) == len(steps) == demo.STRIP_STEPS
  np.testing.assert_array_equal(steps[0], coords)
  np.testing.assert_array_equal(steps[-1], end)  # Exactly the reference's: picking it draws the reference's style.
  for picture, step in zip(pictures, steps):
    np.testing.assert_allclose(picture, editor.render(x, 1, step), atol=1e-4)


def test_describe_change_says_colour_or_brightness_and_where():
  diff = np.zeros((2, 16, 16, 3), np.float32)
  diff[:, 6:10, 6:10] = [0.8, -0.4, -0.4]  # The centre changes hue.
  assert demo.describe_change(diff) == ('colour', 'centre')
  diff = np.full((2, 16, 16, 3), 0.3, np.float32)
  diff[:, 4:12, 4:12] = 0.0  # Everything but the centre gets lighter.
  assert demo.describe_change(diff) == ('brightness', 'edges')
  assert demo.describe_change(np.full((1, 16, 16, 3), -0.2, np.float32)) == ('brightness', 'whole image')


def _ramp(*shape) -> np.ndarray:
  """A picture that is not one flat colour (a flat one gets a warning): values rising along both axes."""
  ramp = np.add.outer(np.arange(shape[0]), np.arange(shape[1])) * 255 // (shape[0] + shape[1])
  return np.broadcast_to(ramp.reshape(*shape[:2], *[1] * (len(shape) - 2)), shape)


def _write(path, array, mode=None):
  Image.fromarray(np.asarray(array, np.uint8), mode).save(path)
  return str(path)


def test_read_image_converts_resizes_and_refuses_in_one_sentence(tmp_path):
  (tmp_path / 'notes.txt').write_text('not a picture')
  image, message = demo.read_image(str(tmp_path / 'notes.txt'), 32)
  assert image is None and message.startswith('notes.txt is not an image') and '\n' not in message
  image, message = demo.read_image(_write(tmp_path / 'gray.png', np.full((32, 32), 200)), 32)
  assert image.shape == (32, 32, 3) and 'grayscale' in message
  np.testing.assert_allclose(image, 200 / 127.5 - 1, atol=1e-6)
  rgba = np.zeros((32, 32, 4), np.uint8)
  rgba[..., 0], rgba[:16, :, 3] = 255, 255  # Top half opaque red, bottom half transparent.
  image, message = demo.read_image(_write(tmp_path / 'rgba.png', rgba), 32)
  assert 'transparent parts were put on white' in message
  np.testing.assert_allclose(image[0, 0], [1, -1, -1])
  np.testing.assert_allclose(image[-1, 0], [1, 1, 1])
  image, message = demo.read_image(_write(tmp_path / 'big.png', _ramp(64, 64, 3)), 32)
  assert image.shape == (32, 32, 3) and message == "Loaded big.png: it was resized from 64x64 to the model's 32x32."
  image, message = demo.read_image(_write(tmp_path / 'ok.png', _ramp(32, 32, 3)), 32)
  assert message == 'Loaded ok.png.'


def test_read_image_keeps_the_centre_of_a_wide_picture_and_warns_of_a_flat_one(tmp_path):
  wide = np.zeros((48, 64, 3))
  wide[:, 8:56] = 255  # The central 48x48 square is white with a gray centre; the 8 columns either side are black.
  wide[16:32, 24:40] = 128
  image, message = demo.read_image(_write(tmp_path / 'wide.png', wide), 32)
  assert message == ("Loaded wide.png: it was 64x48: its central 48x48 square was kept and resized to the model's "
                     '32x32.')
  assert image.min() > 0 and image.max() == 1  # Not squashed: no black columns.
  image, message = demo.read_image(_write(tmp_path / 'dot.png', np.full((1, 1, 3), 200)), 32)
  assert image.shape == (32, 32, 3) and message.startswith("Loaded dot.png: it was resized from 1x1 to the model's")
  assert message.endswith('warning: every pixel has the same colour, so the picture is flat.')
  _, message = demo.read_image(_write(tmp_path / 'tiny.png', np.eye(4)[..., None].repeat(3, -1) * 255), 32)
  assert message.endswith("warning: it has only 4x4 pixels, so enlarged to the model's 32x32 it shows little.")


def test_grid_is_saved_with_its_slider_values(editor, val_images, tmp_path):
  x = val_images[0]
  coords = editor.coordinates(1, z=np.full(4, 0.5, np.float32))
  path = demo.save_grid(editor.grid(x[0], 1, coords, reference=x[1]), str(tmp_path))
  again = demo.save_grid(editor.grid(x[0], 1, coords), str(tmp_path))
  assert path != again and sorted(os.listdir(tmp_path)) == sorted(map(os.path.basename, (path, again)))
  with Image.open(path) as picture:
    assert picture.width > 3 * demo.GRID_CELL and picture.height > demo.GRID_CELL


# ---------------------------------------------------------------- in a browser


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@pytest.fixture(scope='module')
def browser_session(editor, tmp_path_factory):
  """(chromium browser, URL of the editing page, folder of saved grids): one server and browser per module."""
  pytest.importorskip('gradio', reason="gradio is not installed: pip install -e '.[demo]'")
  sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (pip install playwright)')
  if not CHROMIUM:
    pytest.skip('No chromium binary (apt-get install chromium, or set DSS_JAX_CHROMIUM): the browser tests need one.')
  out_dir = str(tmp_path_factory.mktemp('demo_grids'))
  page, url = demo.launch(editor, out_dir, port=_free_port(), block=False, title='test')
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM)
    yield browser, url, out_dir
    browser.close()
  page.close()


def _open(browser, url):
  tab = browser.new_page(viewport={'width': 1400, 'height': 1000})
  tab.goto(url)
  tab.wait_for_selector('#output img', timeout=60_000)
  return tab


@pytest.fixture(scope='module')
def browser_page(browser_session):
  """(playwright page showing the editing page, folder of saved grids): shared by the tests of this module, in
  file order."""
  browser, url, out_dir = browser_session
  tab = _open(browser, url)
  yield tab, out_dir
  tab.close()


@pytest.fixture
def fresh_tab(browser_session):
  """(a new tab, folder of saved grids): the page as it opens (gradio keeps each tab's state apart)."""
  browser, url, out_dir = browser_session
  tab = _open(browser, url)
  yield tab, out_dir
  tab.close()


def test_serve_says_what_it_does_while_starting_and_where_the_page_is_without_a_share_hint(caplog, monkeypatch,
                                                                                          tmp_path):
  pytest.importorskip('gradio', reason="gradio is not installed: pip install -e '.[demo]'")
  import builtins
  import logging as std_logging
  workdir = trained_workdir()
  caplog.set_level(std_logging.INFO, logger='absl')
  printed = []  # gradio prints its lines; capfd would hand its server a stream that is closed after the test.
  monkeypatch.setattr(builtins, 'print', lambda *args, **kwargs: printed.append(' '.join(map(str, args))))
  page, url = demo.serve(workdir, port=_free_port(), out_dir=str(tmp_path), max_sliders=2, block=False)
  page.close()
  lines = [r.getMessage() for r in caplog.records if r.pathname == demo.__file__]
  assert lines[0].startswith('Loading the model of') and any(line.startswith('Compiling') for line in lines), lines
  assert lines[-1] == f'The editing page is ready: open {url} in a browser.'
  assert not [line for line in printed if 'share=True' in line], printed


def _output(tab) -> str:
  """The output image's URL: gradio names its files by content hash, so another image is another URL."""
  return tab.get_attribute('#output img', 'src')


def _wait_for_new_output(tab, before: str):
  tab.wait_for_function('s => document.querySelector("#output img").src != s', arg=before, timeout=30_000)


def _sliders(tab, editor) -> list[float]:
  return [float(tab.input_value(f'#slider_{c} input[type=number]')) for c in editor.sliders]


def test_moving_a_slider_changes_the_output_and_keeps_the_others(browser_page, editor, tmp_path):
  tab, _ = browser_page
  before, positions = _output(tab), _sliders(tab, editor)
  moved = editor.sliders[1]
  tab.locator(f'#slider_{moved} input[type=range]').fill('2.5')
  _wait_for_new_output(tab, before)
  after = _sliders(tab, editor)
  assert after[1] == 2.5
  assert [v for i, v in enumerate(after) if i != 1] == [v for i, v in enumerate(positions) if i != 1]
  tab.screenshot(path=str(tmp_path / 'page.png'), full_page=True)


def test_picking_a_reference_changes_the_output_and_sets_the_sliders(browser_page, editor):
  tab, _ = browser_page
  before = _output(tab)
  tab.locator('#references .thumbnail-item').nth(1).click()
  _wait_for_new_output(tab, before)
  assert tab.inner_text('#message').startswith('Style of reference 1 of domain0')
  expected = editor.coordinates(0, reference=editor.references(0)[1])
  assert _sliders(tab, editor) == [demo.slider_value(expected[c]) for c in editor.sliders]


def test_new_style_and_domain_change_update_the_output(browser_page):
  tab, _ = browser_page
  before = _output(tab)
  tab.click('#new_style')
  _wait_for_new_output(tab, before)
  assert tab.inner_text('#message').startswith('A new random style')
  before = _output(tab)
  tab.click('#domain input')
  tab.get_by_role('option', name='domain3: cyan objects, dark grey background').click()
  _wait_for_new_output(tab, before)
  assert 'Target domain domain3: cyan objects, dark grey background' in tab.inner_text('#message')


def _save(tab) -> str:
  """Clicks "Save grid" and returns the path of the PNG it wrote, read from the page's message."""
  before = tab.inner_text('#message')
  tab.click('#save')
  tab.wait_for_function('b => { const m = document.querySelector("#message").innerText; '
                        'return m != b && m.startsWith("Saved"); }', arg=before, timeout=30_000)
  return tab.inner_text('#message').strip()[len('Saved '):-1]


def test_save_grid_writes_a_png(browser_page):
  tab, out_dir = browser_page
  path = _save(tab)
  assert os.path.dirname(path) == out_dir and path.endswith('.png') and os.path.basename(path) in os.listdir(out_dir)
  with Image.open(path) as picture:
    assert picture.format == 'PNG'


def _selected(tab, gallery: str) -> list[int]:
  """The indices of the thumbnails a gallery highlights."""
  return tab.evaluate('g => Array.from(document.querySelectorAll(`#${g} .thumbnail-item`))'
                      '.flatMap((e, i) => e.classList.contains("selected") ? [i] : [])', gallery)


def _until(tab, condition, what: str):
  """Waits (10 s at most) for condition(tab) to hold; gradio applies an event's updates a moment after its output."""
  for _ in range(100):
    if condition(tab):
      return
    tab.wait_for_timeout(100)
  raise AssertionError(f'The page never showed {what}.')


def test_the_galleries_highlight_only_what_is_in_use_and_the_reference_is_shown(fresh_tab, tmp_path):
  tab, _ = fresh_tab
  no_reference = lambda tab: tab.locator('#reference img').count() == 0  # noqa: E731
  assert no_reference(tab)  # The page opens on a random style.

  def pick_reference(i):
    before = _output(tab)
    tab.locator('#references .thumbnail-item').nth(i).click()
    _wait_for_new_output(tab, before)
    _until(tab, lambda tab: _selected(tab, 'references') == [i] and not no_reference(tab), f'reference {i} in use')

  pick_reference(1)
  before = _output(tab)
  tab.click('#new_style')
  _wait_for_new_output(tab, before)
  _until(tab, lambda tab: _selected(tab, 'references') == [] and no_reference(tab), 'no reference after New style')
  pick_reference(0)
  before = _output(tab)
  tab.click('#domain input')
  tab.get_by_role('option', name='domain2').click()
  _wait_for_new_output(tab, before)
  _until(tab, lambda tab: _selected(tab, 'references') == [] and no_reference(tab), 'no reference in a new domain')
  pick_reference(1)
  before, shown = _output(tab), tab.get_attribute('#reference img', 'src')
  noise = np.random.default_rng(1).integers(0, 255, (32, 32, 3))
  tab.set_input_files('#upload_reference input[type=file]', _write(tmp_path / 'ref.png', noise))
  _wait_for_new_output(tab, before)
  _until(tab, lambda tab: _selected(tab, 'references') == [] and not no_reference(tab)
         and tab.get_attribute('#reference img', 'src') != shown, 'the uploaded reference in use')

  before = tab.get_attribute('#source img', 'src')
  tab.locator('#sources .thumbnail-item').nth(3).click()
  _until(tab, lambda tab: _selected(tab, 'sources') == [3] and tab.get_attribute('#source img', 'src') != before,
         'source 3 in use')
  tab.set_input_files('#upload_source input[type=file]', _write(tmp_path / 'source.png', noise))
  _until(tab, lambda tab: _selected(tab, 'sources') == [], 'no source highlighted after an upload')


def test_a_number_typed_out_of_range_is_clamped_with_a_note(fresh_tab, editor, capfd):
  tab, _ = fresh_tab
  c = editor.sliders[1]
  box, slider = f'#slider_{c} input[type=number]', f'#slider_{c} input[type=range]'
  capfd.readouterr()
  tab.fill(box, '7')
  _until(tab, lambda tab: f'component {c} was set to +3' in tab.inner_text('#message'), 'a note on the clamped value')
  clamped = _output(tab)
  assert tab.input_value(box) == '3' and float(tab.input_value(slider)) == 3
  tab.locator(slider).fill('0')  # The output is that of +3: away and back to +3 on the slider draws the same.
  _wait_for_new_output(tab, clamped)
  tab.locator(slider).fill('3')
  tab.wait_for_function('s => document.querySelector("#output img").src == s', arg=clamped, timeout=15_000)
  assert 'Traceback' not in capfd.readouterr().err


def test_the_boxes_show_all_they_hold_and_the_saved_grid_only_once_saved(fresh_tab):
  tab, _ = fresh_tab
  problems = []
  for gallery in ('sources', 'references'):  # Every column of thumbnails inside its gallery.
    cut = tab.evaluate('g => { const right = document.getElementById(g).getBoundingClientRect().right; '
                       'return Array.from(document.querySelectorAll(`#${g} .thumbnail-item`))'
                       '.filter(e => e.getBoundingClientRect().right > right + 1).length; }', gallery)
    if cut:
      problems.append(f'{gallery}: {cut} thumbnails reach beyond the gallery')
  for upload in ('upload_source', 'upload_reference'):  # "Click to Upload" inside its box.
    box = tab.locator(f'#{upload} button.upload-container').bounding_box()
    text = tab.locator(f'#{upload} [data-testid=upload-text]').bounding_box()
    overflow = tab.evaluate(f'() => document.querySelector("#{upload} [data-testid=upload-text]").scrollHeight - '
                            f'document.querySelector("#{upload} button.upload-container").clientHeight')
    if text['y'] < box['y'] or text['y'] + text['height'] > box['y'] + box['height'] + 1 or overflow > 1:
      problems.append(f'{upload}: its text is cut off')
  if tab.locator('#saved').is_visible():
    problems.append('an empty "Saved grid" box is shown')
  name = os.path.basename(_save(tab))
  tab.wait_for_selector('#saved td.filename')
  if tab.get_attribute('#saved td.filename', 'aria-label') != name:
    problems.append(f'the download box holds another file than {name}')
  if not tab.evaluate('() => Array.from(document.querySelectorAll("#saved td.filename, #saved td.filename span"))'
                      '.every(e => e.scrollWidth <= e.clientWidth)'):
    problems.append(f'the download box cuts off the name {name}')
  assert not problems, problems


JARGON = ('N(0, 1)', 'F^-1', '|change|', 'std', 'random z')


def test_the_first_screen_speaks_plainly_and_the_method_is_in_a_closed_section(fresh_tab, editor):
  tab, _ = fresh_tab
  shown = tab.evaluate('() => document.body.innerText')  # What is on the page, less what is hidden.
  assert not [word for word in JARGON if word in shown], [word for word in JARGON if word in shown]
  best = min(editor.slider_components(0), key=lambda c: c.rank)
  percent = f'{50 * best.effect:.1f}%'
  assert (f'the strongest of {len(editor.components_of(0))}: from -3 to +3 it changes the picture by {percent} on '
          'average') in tab.inner_text(f'#slider_{best.index}')
  assert editor.domain_label(0) in tab.input_value('#domain input')  # Domains named by what makes them differ.
  tab.get_by_text('How this works').click()
  tab.wait_for_function('() => document.body.innerText.includes("N(0, 1)")', timeout=10_000)


def test_reset_goes_back_to_the_references_value_redraws_and_saves_what_is_shown(fresh_tab, editor):
  tab, _ = fresh_tab
  before = _output(tab)
  tab.locator('#references .thumbnail-item').nth(1).click()
  _wait_for_new_output(tab, before)
  reference = editor.references(0)[1]
  at_reference, positions = _output(tab), _sliders(tab, editor)
  moved = editor.sliders[0]
  tab.locator(f'#slider_{moved} input[type=range]').fill('2.5')
  _wait_for_new_output(tab, at_reference)
  tab.click(f'#slider_{moved} [data-testid=reset-button]')
  # The output is redrawn at the reference's style (gradio names its files by content: the same picture).
  tab.wait_for_function('s => document.querySelector("#output img").src == s', arg=at_reference, timeout=15_000)
  assert _sliders(tab, editor) == positions  # The reference's value, not the one the page opened with.
  with Image.open(_save(tab)) as saved:  # The grid is titled with the values shown.
    expected = editor.grid(editor.sources[0], 0, editor.coordinates(0, reference=reference), reference)
    np.testing.assert_array_equal(np.asarray(saved), expected)


@pytest.mark.parametrize('name,array,expected', [
    ('notes.txt', None, 'notes.txt is not an image this page can read'),
    ('gray.png', _ramp(32, 32), 'Source: Loaded gray.png: it was grayscale and was converted to RGB.'),
    ('rgba.png', _ramp(32, 32, 4), 'Source: Loaded rgba.png: its transparent parts were put on white.'),
    ('wide.png', _ramp(40, 80, 3),
     "Source: Loaded wide.png: it was 80x40: its central 40x40 square was kept and resized to the model's 32x32."),
    ('dot.png', np.full((1, 1, 3), 90), "Source: Loaded dot.png: it was resized from 1x1 to the model's 32x32; "
     'warning: every pixel has the same colour, so the picture is flat.'),
])
def test_a_bad_upload_is_one_line_on_the_page(browser_page, tmp_path, name, array, expected):
  tab, _ = browser_page
  path = tmp_path / name
  if array is None:
    path.write_bytes(b'\x00\x01 this is not an image')
  else:
    _write(path, array)
  before = tab.get_attribute('#source img', 'src')
  tab.set_input_files('#upload_source input[type=file]', str(path))
  tab.wait_for_function('n => document.querySelector("#message").innerText.includes(n)', arg=name, timeout=30_000)
  message = tab.inner_text('#message').strip()
  assert message.startswith(expected) and '\n' not in message
  source = tab.get_attribute('#source img', 'src')
  assert (source == before) if array is None else (source != before)  # A refused file changes nothing.
  assert _output(tab)  # The page still shows an output.


def test_an_uploaded_reference_sets_the_style_and_a_bad_one_changes_nothing(browser_page, editor, tmp_path):
  tab, _ = browser_page
  before = _output(tab)
  noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3))
  tab.set_input_files('#upload_reference input[type=file]', _write(tmp_path / 'ref.png', noise))
  _wait_for_new_output(tab, before)
  message = tab.inner_text('#message')
  assert message.startswith("Reference: Loaded ref.png: it was resized from 64x64 to the model's 32x32."), message
  before, positions = _output(tab), _sliders(tab, editor)
  (tmp_path / 'bad.jpg').write_bytes(b'not a jpeg')
  tab.set_input_files('#upload_reference input[type=file]', str(tmp_path / 'bad.jpg'))
  tab.wait_for_function('() => document.querySelector("#message").innerText.includes("bad.jpg")', timeout=30_000)
  assert tab.inner_text('#message').startswith('bad.jpg is not an image this page can read')
  assert _output(tab) == before and _sliders(tab, editor) == positions  # A refused reference changes nothing.


def _count(tab, gallery: str) -> int:
  return tab.locator(f'#{gallery} .thumbnail-item').count()


def _message_starts(tab, text: str):
  tab.wait_for_function('t => document.querySelector("#message").innerText.startsWith(t)', arg=text, timeout=30_000)


def test_random_styles_a_seed_truncation_and_every_domain(fresh_tab, editor):
  tab, _ = fresh_tab
  assert _count(tab, 'styles') == demo.STYLE_COUNT and _count(tab, 'all_domains') == len(editor.domains)
  before = _output(tab)
  tab.locator('#styles .thumbnail-item').nth(2).click()  # Seeds 1 .. 6: the third is seed 3.
  _wait_for_new_output(tab, before)
  _message_starts(tab, 'The random style of seed 3.')
  seed3 = _output(tab)
  assert tab.input_value('#seed input') == '3'
  assert _sliders(tab, editor) == [demo.slider_value(editor.seed_coordinates(0, 3)[c]) for c in editor.sliders]
  tab.click('#new_style')
  _wait_for_new_output(tab, seed3)
  tab.fill('#seed input', '3')  # The same seed: the same style, the same picture.
  tab.wait_for_function('s => document.querySelector("#output img").src == s', arg=seed3, timeout=15_000)
  before = _output(tab)
  tab.locator('#psi input[type=range]').fill('0.5')
  _wait_for_new_output(tab, before)
  _message_starts(tab, 'Truncation ψ 0.5')
  assert _sliders(tab, editor) == [demo.slider_value(0.5 * editor.seed_coordinates(0, 3)[c]) for c in editor.sliders]
  before = _output(tab)
  tab.locator('#all_domains .thumbnail-item').nth(3).click()  # The row of domains leads to a domain.
  _wait_for_new_output(tab, before)
  _message_starts(tab, f'Target domain {editor.domain_label(3)}')
  assert tab.input_value('#domain input') == editor.domain_label(3)


def test_reset_all_back_to_the_reference_the_strip_and_the_worked_examples(fresh_tab, editor):
  tab, _ = fresh_tab

  def click(selector):
    before = _output(tab)
    tab.click(selector)
    _wait_for_new_output(tab, before)

  def shows(src, what):
    tab.wait_for_function('s => document.querySelector("#output img").src == s', arg=src, timeout=15_000)
    _until(tab, lambda tab: tab.locator('#reference img').count() == 1, what)

  click('#references .thumbnail-item >> nth=1')
  at_reference, positions = _output(tab), _sliders(tab, editor)
  before = _output(tab)
  tab.locator(f'#slider_{editor.sliders[0]} input[type=range]').fill('2.5')
  _wait_for_new_output(tab, before)
  tab.locator('#psi input[type=range]').fill('0.3')
  _message_starts(tab, 'Truncation ψ 0.3')
  click('#reset_all')  # Every slider and psi: back to the reference's style.
  shows(at_reference, "the reference's style after Reset all")
  assert _sliders(tab, editor) == positions and float(tab.input_value('#psi input[type=number]')) == 1
  click('#new_style')
  click('#back_to_reference')
  shows(at_reference, "the reference's style again")
  _until(tab, lambda tab: _selected(tab, 'references') == [1], 'reference 1 highlighted again')
  click('#new_style')
  random_style = _output(tab)
  tab.click('#draw_strip')
  _until(tab, lambda tab: _count(tab, 'strip') == demo.STRIP_STEPS, 'the strip')
  click(f'#strip .thumbnail-item >> nth={demo.STRIP_STEPS - 1}')  # Its end is the reference's style.
  tab.wait_for_function('s => document.querySelector("#output img").src == s', arg=at_reference, timeout=15_000)
  click('#strip .thumbnail-item >> nth=0')  # Its start, the style it was drawn from.
  assert _output(tab) == random_style

  click('#example_0')  # A reference's style in the last domain.
  last = len(editor.domains) - 1
  _message_starts(tab, f"Example 1, a reference's style in {editor.domains[last]}")
  assert tab.input_value('#domain input') == editor.domain_label(last)
  _until(tab, lambda tab: _selected(tab, 'references') == [0] and tab.locator('#reference img').count() == 1,
         "the example's reference in use")
  click('#example_1')  # The strongest slider at +3.
  strongest = min(editor.slider_components(0), key=lambda c: c.rank)
  _message_starts(tab, 'Example 2')
  assert float(tab.input_value(f'#slider_{strongest.index} input[type=number]')) == demo.SLIDER_RANGE
  _until(tab, lambda tab: tab.locator('#reference img').count() == 0, 'no reference in a random style')
