"""An editing page for a trained model, in the browser: pick a source, a target domain and a style, then move
one style component at a time and watch the output change.

  pip install -e '.[demo]'
  python -m dss_jax.demo                                # the model shipped with dss_jax; open http://127.0.0.1:7860
  python -m dss_jax.demo --workdir=runs/demo            # a model you trained
  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=demo   # the same page

The page (gradio, served locally) shows the workdir's validation images as sources (on the synthetic dataset,
the built-in rendered ones; a dataset that is not on this machine leaves uploads only), the target domain,
the target domain's validation images as references, a "new style" button (a random z), and one slider per
style component. The sliders are the style's coordinates in the space where the model edits one component
at a time, as `Translator.traverse` does:

- DSS (the flow mapping): z = F^-1(s; u), whose components are N(0, 1) in every domain; a slider sets one
  z component and the flow maps z back, so the others stay exactly as they were.
- StarGAN v2 (`:stargan_v2`, the MLP mapping, which has no inverse): the style code itself, in standard
  deviations of each component around its mean over F(z, u) (s_c = mean_c + value * std_c).

Each slider is labelled with what it moves most, measured when the page starts (and for each domain when it
is first chosen) from `Translator.traverse` at -1 and +1 std on a few validation sources: whether the
change is mostly colour or brightness, where in the picture it is (the centre, the edges or everywhere),
and, in words, its rank and size (the mean absolute change per pixel, `Translator.component_effects`' number,
as a share of the pixels' range). A model with more than --max_sliders components shows the sliders of those
with the largest effects in the first domain. A slider's ↺ goes back to the value of the style in use (the
reference's, or the last new style's) and redraws; a number typed beyond a slider's ends is clamped, with a
note. The page's first screen says what to do; the method is in a closed "How this works" section.

"Save grid" writes source | (reference) | output, with the target domain and every slider value, as a PNG in
<workdir>/demo/ (or --out_dir) and offers it for download. Uploaded images are converted to RGB (grayscale,
palette, transparency on white), cropped to their central square when they are not square and resized to the
model's size, and the page says so (and warns of a flat or tiny picture); a file that is not an image gets one
line on the page and changes nothing.

The translator is compiled for the page's shapes when the page starts (the console says so and how long it
took), so no request waits for a compile.
"""

import dataclasses
import os
import re
import time

import numpy as np
from absl import logging
from PIL import Image

from dss_jax import bundle
from dss_jax import images as imglib
from dss_jax import inference

SLIDER_RANGE = 3.0  # Slider ends, in standard deviations (the components of z are N(0, 1)).
SLIDER_STEP = 0.05
MAX_SLIDERS = 16
EFFECT_SOURCES = 4  # Validation sources over which the component labels are measured.
GRID_CELL = 128  # Cells of the saved grid are at least this large.
DISPLAY_SIZE = 256  # Images are shown at least this large (nearest neighbour: the model's pixels stay visible).
CENTRE_RATIO = 1.5  # A change this much denser in the centre (or at the edges) than elsewhere is said to be there.
UPLOAD_HINT = 'upload a PNG, JPEG or another picture PIL reads'
UPLOAD_HEIGHT = 150  # Pixels of an upload box: room for its icon and three lines of text.
SMALL_UPLOAD = 4  # An upload this many times smaller than the model's size is said to show little.

# gradio's gallery gives each column at least 100 px, so four columns overflow a third of the page and the
# fourth is cut off: here the columns share the gallery's width and the thumbnails stay square. Its upload box's
# text is at least 240 px tall, which a smaller box clips ("Click to Upload"): here it is as tall as its box.
PAGE_CSS = """
#sources .grid-container, #references .grid-container {
  grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)); grid-auto-rows: auto; grid-template-rows: none;
}
#sources .thumbnail-item, #references .thumbnail-item { width: 100%; height: auto; aspect-ratio: 1 / 1; }
#upload_source [data-testid=upload-text], #upload_reference [data-testid=upload-text] { min-height: 0; }
"""

# Run by the page when it opens. A slider's own ↺ button sets the value the slider had when the page opened and
# tells the server nothing the page listens to (its `.input` is for the user's moves). This sends its clicks to
# the page's hidden reset_<component> button instead, whose handler goes back to the value of the style in use
# (a reference's, or the last new style's) and redraws the output.
RESET_REDIRECT = """() => {
  document.addEventListener('click', (event) => {
    const reset = event.target.closest && event.target.closest('[data-testid="reset-button"]');
    const slider = reset && reset.closest('[id^="slider_"]');
    const target = slider && document.getElementById('reset_' + slider.id.slice('slider_'.length));
    if (!target) return;
    event.stopPropagation();
    event.preventDefault();
    (target.tagName === 'BUTTON' ? target : target.querySelector('button')).click();
  }, true);
}"""


# ------------------------------------------------------------------------------------------ uploads


def read_image(path: str, img_size: int) -> tuple[np.ndarray | None, str]:
  """An uploaded file -> (float32 [img_size, img_size, 3] in [-1, 1], or None; one sentence for the page).

  Grayscale and palette images are converted to RGB, transparency is flattened on white, a picture that is not
  square is cropped to its central square (squashing it would distort what the model sees) and another size is
  resized (bilinear), each said in the sentence; a picture of one flat colour (a 1x1 image, say) or one much
  smaller than the model's size gets a warning. A file PIL cannot read gives None and a sentence saying so.
  """
  name = os.path.basename(str(path))
  try:
    with Image.open(path) as image:
      image.load()
      mode = image.mode
      notes = []
      if 'transparency' in image.info or mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La'):
        rgba = image.convert('RGBA')
        background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
        notes.append('its transparent parts were put on white')
      if mode in ('1', 'L', 'LA', 'La', 'I', 'I;16', 'F'):
        notes.append('it was grayscale and was converted to RGB')
      elif mode not in ('RGB', 'RGBA', 'RGBa', 'P', 'PA'):
        notes.append(f'it was {mode} and was converted to RGB')
      image = image.convert('RGB')
      w, h = image.size
      side = min(w, h)
      if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        notes.append(f'it was {w}x{h}: its central {side}x{side} square was kept' +
                     (f' and resized to the model\'s {img_size}x{img_size}' if side != img_size else ''))
      elif side != img_size:
        notes.append(f'it was resized from {w}x{h} to the model\'s {img_size}x{img_size}')
      if side != img_size:
        image = image.resize((img_size, img_size), Image.BILINEAR)
      pixels = np.asarray(image)
      if (pixels == pixels[:1, :1]).all():
        notes.append('warning: every pixel has the same colour, so the picture is flat')
      elif side * SMALL_UPLOAD <= img_size:
        notes.append(f'warning: it has only {side}x{side} pixels, so enlarged to the model\'s {img_size}x{img_size} it '
                     'shows little')
  except Exception as e:  # noqa: BLE001 - whatever PIL fails on, the user gets the same sentence.
    reason = str(e).split('\n')[0][:120]
    return None, f'{name} is not an image this page can read ({reason}): {UPLOAD_HINT}.'
  return imglib.from_uint8(pixels), f'Loaded {name}' + (': ' + '; '.join(notes) if notes else '') + '.'


def slider_value(coordinate) -> float:
  """Where a slider shows a coordinate: clipped to its range, rounded to 0.01 (the page keeps the exact value
  until the slider is moved)."""
  return round(float(np.clip(coordinate, -SLIDER_RANGE, SLIDER_RANGE)), 2)


def display(image) -> np.ndarray:
  """[H, W, 3] in [-1, 1] -> uint8, scaled up by an integer factor to at least DISPLAY_SIZE (nearest)."""
  out = imglib.to_uint8(image)
  k = max(1, -(-DISPLAY_SIZE // out.shape[0]))
  return np.repeat(np.repeat(out, k, axis=0), k, axis=1)


# ------------------------------------------------------------------------------------------ what a component moves


def describe_change(diff: np.ndarray) -> tuple[str, str]:
  """What an edit changes, from output differences diff [N, H, W, 3] (the edit at +1 std minus at -1 std).

  Returns (what, where): what is 'colour' when the channels change differently more than together (a
  change of brightness moves R, G and B alike), else 'brightness'; where is 'centre' / 'edges' when the
  mean change per pixel in the central half of the picture is CENTRE_RATIO times that of the rest (or the
  other way round), else 'whole image'.
  """
  diff = np.asarray(diff, np.float32)
  together = diff.mean(-1, keepdims=True)
  brightness, colour = np.abs(together).mean(), np.abs(diff - together).mean()
  per_pixel = np.abs(diff).mean((0, -1))
  h, w = per_pixel.shape
  centre = np.zeros((h, w), bool)
  centre[h // 4:h - h // 4, w // 4:w - w // 4] = True
  ratio = per_pixel[centre].mean() / max(per_pixel[~centre].mean(), 1e-12)
  where = 'centre' if ratio >= CENTRE_RATIO else 'edges' if ratio <= 1 / CENTRE_RATIO else 'whole image'
  return ('colour' if colour > brightness else 'brightness'), where


@dataclasses.dataclass(frozen=True)
class Component:
  """One style component as a slider shows it: its index, what it moves, where, and its effect size (the mean
  |change| per pixel and channel, in [-1, 1] units, from -1 to +1; its rank among the domain's `count`)."""
  index: int
  what: str
  where: str
  effect: float
  rank: int
  count: int

  @property
  def label(self) -> str:
    return f'component {self.index}: {self.what}, {self.where}'

  @property
  def info(self) -> str:
    """The effect in words: its rank, and the change as a share of the pixels' whole range (2 in [-1, 1])."""
    which = 'the strongest' if self.rank == 1 else f'{_ordinal(self.rank)} strongest'
    return f'{which} of {self.count}: from -1 to +1 it changes the picture by {50 * self.effect:.1f}% on average'


def _ordinal(n: int) -> str:
  return f'{n}{"th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")}'


# ------------------------------------------------------------------------------------------ the editor


class Editor:
  """What the page computes, without the page: a Translator, the validation images, and the style's
  coordinates in the edit space (z for DSS; standardised code components for StarGAN v2).

  Coordinates are numpy [style_dim] vectors (for DSS z_dim = style_dim); images [H, W, 3] in [-1, 1].
  """

  def __init__(self, translator: inference.Translator, sources=None, labels=None, max_sliders: int = MAX_SLIDERS,
               effect_sources: int = EFFECT_SOURCES):
    self.translator = translator
    self.space = 'z' if translator.is_flow else 'style'
    self.sources = np.zeros((0, *translator.nets.x_shape), np.float32) if sources is None else np.asarray(sources)
    self.labels = np.zeros((0,), np.int32) if labels is None else np.asarray(labels, np.int32)
    self.max_sliders = max_sliders
    self.effect_sources = effect_sources
    self._components = {}
    first = self.components_of(0)
    self.sliders = sorted(c.index for c in sorted(first, key=lambda c: c.rank)[:max_sliders])

  @property
  def domains(self) -> list[str]:
    return self.translator.domains

  def references(self, domain) -> np.ndarray:
    """The validation images of a domain (the page's reference choices)."""
    return self.sources[self.labels == self.translator.domain_index(domain)]

  # ------------------------------------------------------------------ coordinates <-> style codes

  def coordinates(self, domain, *, z=None, reference=None) -> np.ndarray:
    """The edit-space coordinates of a random z's style or a reference's style in `domain`: [style_dim]."""
    t, k = self.translator, self.translator.domain_index(domain)
    if (z is None) == (reference is None):
      raise ValueError('Give exactly one of z and reference.')
    if self.space == 'z':
      return (np.asarray(z, np.float32) if z is not None else t.reference_to_z(reference[None], k)[0]).copy()
    if z is not None:
      s = t.style_from_z(np.asarray(z, np.float32)[None], k)[0]
    else:
      s = t.encode_style(reference[None], k)[0]
    mean, std = t._component_stats(k)
    return (s - mean) / np.maximum(std, 1e-12)

  def style(self, coords, domain) -> np.ndarray:
    """The style code [style_dim] of edit-space coordinates in `domain` (as `Translator.traverse_styles`)."""
    t, k = self.translator, self.translator.domain_index(domain)
    coords = np.asarray(coords, np.float32)
    if self.space == 'z':
      return t.style_from_z(coords[None], k)[0]
    mean, std = t._component_stats(k)
    return mean + coords * std

  def render(self, source, domain, coords) -> np.ndarray:
    """G(source, style(coords, domain)): [H, W, 3] (unclipped)."""
    return self.translator.generate(np.asarray(source, np.float32)[None], self.style(coords, domain)[None])[0]

  # ------------------------------------------------------------------ slider labels

  def components_of(self, domain) -> list[Component]:
    """Every style component of `domain`, described by what a -1 -> +1 std edit of it changes (measured once per
    domain, from the domain's mean style, on the first effect_sources validation images; cached)."""
    k = self.translator.domain_index(domain)
    if k not in self._components:
      t = self.translator
      sources = self.sources[:self.effect_sources] if len(self.sources) else np.zeros((1, *t.nets.x_shape), np.float32)
      found = []
      for c in range(t.style_dim):
        out = t.traverse(sources, k, c, [-1.0, 1.0])  # [2, N, H, W, 3]
        diff = out[1] - out[0]
        found.append((c, *describe_change(diff), float(np.abs(diff).mean())))
      order = sorted(found, key=lambda f: -f[3])
      rank = {f[0]: r + 1 for r, f in enumerate(order)}
      self._components[k] = [Component(c, what, where, effect, rank[c], len(found))
                             for c, what, where, effect in found]
    return self._components[k]

  def slider_components(self, domain) -> list[Component]:
    """The components the sliders show, in slider order."""
    described = self.components_of(domain)
    return [described[c] for c in self.sliders]

  # ------------------------------------------------------------------ start-up and the saved grid

  def warm_up(self) -> float:
    """Runs every translator call the page makes, at the page's shapes, so that all of them are compiled before
    the first request; returns the seconds it took."""
    start = time.perf_counter()
    source = self.sources[0] if len(self.sources) else np.zeros(self.translator.nets.x_shape, np.float32)
    z = self.translator.sample_z(1)[0]
    coords = self.coordinates(0, z=z)
    self.render(source, 0, coords)
    self.coordinates(0, reference=source)
    self.style(coords, 0)
    return time.perf_counter() - start

  def grid(self, source, domain, coords, reference=None) -> np.ndarray:
    """The saved picture: source | (reference) | output, titled with the domain, the space and every slider value
    (uint8 [H', W', 3])."""
    k = self.translator.domain_index(domain)
    output = self.render(source, k, coords)
    cells = [source] + ([reference] if reference is not None else []) + [output]
    k_up = max(1, -(-GRID_CELL // cells[0].shape[0]))  # Readable cells: nearest-neighbour upscaling.
    cells = [np.repeat(np.repeat(np.asarray(c), k_up, axis=0), k_up, axis=1) for c in cells]
    cols = ['source'] + (['reference'] if reference is not None else []) + [f'output: {self.domains[k]}']
    space = "the flow's z" if self.space == 'z' else 'the style code (std units)'
    values = ', '.join(f'{c.index} ({c.what}, {c.where}) {coords[c.index]:+.2f}' for c in self.components_of(k))
    title = f'{self.domains[k]}, edited in {space}. Components: {values}'
    return imglib.labelled_grid([cells], cols, title=title)


def save_grid(picture, out_dir: str, domain: str = '') -> str:
  """Writes a grid as <out_dir>/edit_<domain>_<time>.png (atomically; a new name each time) and returns the path."""
  stamp = time.strftime('%Y%m%d-%H%M%S')
  stem = '_'.join(['edit', *([re.sub(r'[^A-Za-z0-9-]+', '-', domain)] if domain else []), stamp])
  path = os.path.join(out_dir, f'{stem}.png')
  n = 1
  while os.path.exists(path):
    n += 1
    path = os.path.join(out_dir, f'{stem}_{n}.png')
  return imglib.save_png(path, picture)


# ------------------------------------------------------------------------------------------ the page


def _validation_images(config):
  """Up to 8 validation images per domain (images, labels), or empty arrays with a console note when the
  dataset is not on this machine (the page then takes uploads only)."""
  from dss_jax import sample
  try:
    return sample._val_split(config, per_domain=8)
  except Exception as e:  # noqa: BLE001 - any missing-data error: the page still works with uploads.
    logging.warning('No validation images for the page (%s): upload sources and references instead.',
                    str(e).split('\n')[0])
    return None, None


def build_page(editor: Editor, out_dir: str, title: str = ''):
  """The gradio Blocks of the editing page (not launched)."""
  import gradio as gr

  t = editor.translator
  n_sliders = len(editor.sliders)
  thumbs = lambda images: [display(x) for x in images]  # noqa: E731
  space_text = ("**DSS** (this model maps styles with a flow): the sliders are the style's z, each component "
                'N(0, 1) in every domain; the flow maps z to the style code and back, so a slider moves one component '
                'and keeps the others exactly as they were.' if editor.space == 'z' else
                "**StarGAN v2** (this model maps styles with an MLP, which has no inverse, so there is no z to edit): "
                "the sliders are the style code's components, in standard deviations from their mean over random "
                "styles of the domain.")
  how_it_works = (
      'The model redraws the source picture in the look of the target domain; the *style* says which look. A style '
      "comes from a reference picture (the model's style encoder reads it) or from a random draw (New style).\n\n"
      f'{space_text}\n\n'
      "Each slider's label says what it changes most (colour or brightness; the centre, the edges or the whole "
      'picture) and how strongly: the mean change per pixel when it moves from -1 to +1 with the others at the '
      "domain's mean style, measured on a few validation pictures when the page starts (and when a domain is "
      f'first chosen). A model with more than {editor.max_sliders} components shows the strongest ones. The saved '
      'grid is titled with the domain and every slider value.')

  def takes_any_number(slider):
    """gradio's slider, except that a number typed beyond its ends reaches the handler, which clamps it and says
    so (gradio's own check raises: a traceback on the console, and box, slider and output that disagree). An
    attribute of the one slider, not a subclass: gradio writes a .pyi stub beside the module of every subclass."""
    slider.preprocess = lambda payload: None if payload is None else float(payload)
    return slider

  def sliders_for(domain, coords):
    return [gr.Slider(value=slider_value(coords[c.index]), label=c.label, info=c.info)
            for c in editor.slider_components(domain)]

  def clipped_note(coords):
    out = [c for c in editor.sliders if abs(coords[c]) > SLIDER_RANGE]
    if not out:
      return ''
    return (f' Component {", ".join(map(str, out))} of this style lies beyond the sliders\' ends '
            f'({-SLIDER_RANGE:g} to {SLIDER_RANGE:+g}): it keeps its value until its slider is moved.')

  def output(source, domain, coords):
    return None if source is None else display(editor.render(source, domain, coords))

  def set_source(image, message, domain, coords, picked: bool):  # An upload: no validation image is in use.
    return (image, display(image), gr.skip() if picked else gr.Gallery(selected_index=None),
            output(image, domain, coords), message)

  def pick_source(domain, coords, evt: gr.SelectData):
    i = evt.index
    return set_source(editor.sources[i], f'Source: validation image {i} ({editor.domains[editor.labels[i]]}).',
                      domain, coords, picked=True)

  def upload_source(path, domain, coords, source):  # The upload box is emptied: ready for the next file.
    if path is None:
      return (gr.skip(),) * 6
    image, message = read_image(path, t.config.img_size)
    if image is None:
      return source, gr.skip(), gr.skip(), gr.skip(), message, None
    return (*set_source(image, 'Source: ' + message, domain, coords, picked=False), None)

  def change_domain(domain, source, coords):
    refs = thumbs(editor.references(domain))
    note = ('the sliders keep their positions, which give the same random draw in its styles'
            if editor.space == 'z' else "the sliders keep their positions, in its styles' spread")
    # The reference was of the previous domain: neither the page nor the saved grid shows it any more.
    return (gr.Gallery(value=refs, selected_index=None), None, reference_view_of(None), *sliders_for(domain, coords),
            output(source, domain, coords), f'Target domain {domain}: {note}.')

  def reference_view_of(reference):
    if reference is None:
      return gr.Image(value=None, label='No reference (a random style)')
    return gr.Image(value=display(reference), label='Reference in use')

  def set_style(domain, source, coords, reference, message, picked: bool = False):
    """The outputs of a new style: coords are also where the ↺ buttons go back to; the references gallery keeps
    its highlight only when the style is that of the reference picked in it."""
    return (coords, coords, reference, reference_view_of(reference),
            gr.skip() if picked else gr.Gallery(selected_index=None), *sliders_for(domain, coords),
            output(source, domain, coords), message + clipped_note(coords))

  def pick_reference(domain, source, evt: gr.SelectData):
    reference = editor.references(domain)[evt.index]
    coords = editor.coordinates(domain, reference=reference)
    return set_style(domain, source, coords, reference,
                     f'Style of reference {evt.index} of {domain}: the sliders show its style.', picked=True)

  def upload_reference(path, domain, source, coords, reference):
    if path is None:
      return (gr.skip(),) * (8 + n_sliders)
    image, message = read_image(path, t.config.img_size)
    if image is None:
      return (coords, gr.skip(), reference, gr.skip(), gr.skip(), *[gr.skip()] * n_sliders, gr.skip(), message, None)
    coords = editor.coordinates(domain, reference=image)
    return (*set_style(domain, source, coords, image, f'Reference: {message} The sliders show its style.'), None)

  def new_style(domain, source, seed):
    z = t.sample_z(1, seed=seed)[0]
    coords = editor.coordinates(domain, z=z)
    return (seed + 1, *set_style(domain, source, coords, None, f'A new random style (number {seed}).'))

  def mover(component):
    def move(domain, source, coords, value):  # One slider's own component: the others stay exactly as they are.
      if value is None or not np.isfinite(value):  # A box being typed in ('-', '') holds no number yet.
        return (gr.skip(),) * 4
      clamped = float(np.clip(value, -SLIDER_RANGE, SLIDER_RANGE))
      coords = np.array(coords, np.float32)
      coords[component] = clamped
      if clamped == value:
        return coords, output(source, domain, coords), gr.skip(), gr.skip()
      return (coords, output(source, domain, coords), clamped,
              f'{value:g} is beyond the sliders\' range ({-SLIDER_RANGE:g} to {SLIDER_RANGE:+g}): '
              f'component {component} was set to {clamped:+g}.')
    return move

  def resetter(component):
    def reset(domain, source, coords, origin, reference):  # ↺: back to the style in use, redrawn.
      coords = np.array(coords, np.float32)
      coords[component] = origin[component]
      whose = "the reference's" if reference is not None else "the style's"
      return (coords, slider_value(coords[component]), output(source, domain, coords),
              f'Component {component} is back at {whose} value, {coords[component]:+.2f}.')
    return reset

  def save(domain, source, coords, reference):
    if source is None:
      return gr.skip(), 'Pick or upload a source first.'
    try:
      path = save_grid(editor.grid(source, domain, coords, reference), out_dir, domain)
    except OSError as e:
      return gr.skip(), f'Could not save the grid in {out_dir} ({e.strerror or e}): start the page with --out_dir.'
    return gr.File(value=path, visible=True), f'Saved {path}.'

  domain0 = editor.domains[0]
  source0 = editor.sources[0] if len(editor.sources) else None
  coords0 = editor.coordinates(domain0, z=t.sample_z(1, seed=0)[0])
  with gr.Blocks(title='dss_jax editing page', analytics_enabled=False) as page:
    gr.Markdown(f'### dss_jax editing page: {title}\nPick a source picture, a target domain and a style (a '
                'reference picture, or New style for a random one); then move the sliders: each changes one aspect '
                'of the style.')
    source_state, coords_state = gr.State(source0), gr.State(coords0)
    reference_state, seed_state = gr.State(None), gr.State(1)
    origin_state = gr.State(coords0)  # The coordinates of the style in use, before any slider moved: where ↺ goes.
    with gr.Row():
      with gr.Column(scale=1):
        sources = gr.Gallery(value=thumbs(editor.sources), label='Source: pick one (validation images)', columns=4,
                             height=260, allow_preview=False, elem_id='sources')
        source_file = gr.File(label='... or upload a source image', elem_id='upload_source', height=UPLOAD_HEIGHT)
        domain = gr.Dropdown(editor.domains, value=domain0, label='Target domain', elem_id='domain')
        references = gr.Gallery(value=thumbs(editor.references(domain0)), label='Reference: pick one to take its style',
                                columns=4, height=150, allow_preview=False, elem_id='references')
        reference_file = gr.File(label='... or upload a reference image', elem_id='upload_reference',
                                 height=UPLOAD_HEIGHT)
        new = gr.Button('New style (random)', elem_id='new_style')
      with gr.Column(scale=2):
        with gr.Row():
          source_view = gr.Image(value=None if source0 is None else display(source0), label='Source', format='png',
                                 interactive=False, elem_id='source', height=256,
                                 buttons=['fullscreen'])
          reference_view = gr.Image(value=None, label='No reference (a random style)', format='png',
                                    interactive=False, elem_id='reference', height=256,
                                    buttons=['fullscreen'])
          output_view = gr.Image(value=output(source0, domain0, coords0), label='Output', format='png',
                                 interactive=False, elem_id='output', height=256,
                                 buttons=['download', 'fullscreen'])
        message = gr.Markdown('Pick a source, a target domain and a style; then move a slider.' if source0 is not None
                              else 'Upload a source image to start.', elem_id='message')
        save_button = gr.Button('Save grid (PNG)', elem_id='save')
        saved = gr.File(label='Saved grid', elem_id='saved', interactive=False, visible=False)  # Shown once saved.
      with gr.Column(scale=1):
        sliders = [takes_any_number(gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, step=SLIDER_STEP, label=c.label,
                                              value=slider_value(coords0[c.index]), info=c.info,
                                              elem_id=f'slider_{c.index}'))
                   for c in editor.slider_components(domain0)]
        resets = [gr.Button('↺', visible='hidden', elem_id=f'reset_{c}') for c in editor.sliders]
    with gr.Accordion('How this works', open=False, elem_id='how_it_works'):
      gr.Markdown(how_it_works)

    source_outputs = [source_state, source_view, sources, output_view, message]
    sources.select(pick_source, [domain, coords_state], source_outputs)
    source_file.upload(upload_source, [source_file, domain, coords_state, source_state], [*source_outputs, source_file])
    domain.change(change_domain, [domain, source_state, coords_state],
                  [references, reference_state, reference_view, *sliders, output_view, message])
    style_outputs = [coords_state, origin_state, reference_state, reference_view, references, *sliders, output_view,
                     message]
    references.select(pick_reference, [domain, source_state], style_outputs)
    reference_file.upload(upload_reference, [reference_file, domain, source_state, coords_state, reference_state],
                          [*style_outputs, reference_file])
    new.click(new_style, [domain, source_state, seed_state], [seed_state, *style_outputs])
    for c, slider in zip(editor.sliders, sliders):  # .input: the user's moves only, not the page's own updates.
      slider.input(mover(c), [domain, source_state, coords_state, slider], [coords_state, output_view, slider, message],
                   trigger_mode='always_last', show_progress='hidden')
    for c, slider, reset in zip(editor.sliders, sliders, resets):
      reset.click(resetter(c), [domain, source_state, coords_state, origin_state, reference_state],
                  [coords_state, slider, output_view, message], show_progress='hidden')
    page.load(None, js=RESET_REDIRECT)
    save_button.click(save, [domain, source_state, coords_state, reference_state], [saved, message])
  return page


def make_editor(workdir: str, config=None, checkpoint=None, max_sliders: int = MAX_SLIDERS) -> Editor:
  """The Editor of a workdir's model (EMA weights), with its validation images, compiled for the page."""
  try:
    translator = inference.Translator.from_checkpoint_flag(workdir, checkpoint, config=config)
  except (FileNotFoundError, ValueError) as e:  # No workdir, no checkpoint, another config's: their sentence.
    raise SystemExit(f'error: {e}') from None
  return _editor(translator, max_sliders)


def make_shipped_editor(max_sliders: int = MAX_SLIDERS) -> Editor:
  """The Editor of the model shipped with the package (bundle.SHIPPED), compiled for the page."""
  try:
    translator = bundle.load()
  except FileNotFoundError as e:
    raise SystemExit(f'error: {e}') from None
  return _editor(translator, max_sliders)


def _editor(translator, max_sliders: int) -> Editor:
  logging.info('Loaded step %s; reading its validation images ...', translator.step)
  x, y = _validation_images(translator.config)
  logging.info('Compiling the translator for the page and measuring what each style component moves (once, '
               'before the page opens) ...')
  start = time.perf_counter()
  editor = Editor(translator, x, y, max_sliders=max_sliders)
  editor.warm_up()
  logging.info('Compiled and measured in %.1f s: %d sliders, edits in %s.', time.perf_counter() - start,
               len(editor.sliders), "the flow's z space" if editor.space == 'z' else 'the style code')
  return editor


def launch(editor: Editor, out_dir: str, host: str = '127.0.0.1', port: int | None = 7860, block: bool = True,
           title: str = ''):
  """Builds and serves the page and says where it is; returns (the gradio Blocks, its local URL). block=False
  returns at once (tests).

  gradio is quiet: its own lines end with "set `share=True` in `launch()`", which a command-line user cannot act
  on (this page is local; --host=0.0.0.0 lets other machines in).
  """
  os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
  import logging as std_logging
  std_logging.getLogger('httpx').setLevel(std_logging.WARNING)  # gradio's own requests to its page, at INFO.
  page = build_page(editor, out_dir, title)
  _, url, _ = page.launch(server_name=host, server_port=port, prevent_thread_lock=True, share=False,
                          inbrowser=False, quiet=True, ssr_mode=False, allowed_paths=[out_dir],
                          theme=_theme(), css=PAGE_CSS, footer_links=[])
  logging.info('The editing page is ready: open %s in a browser%s', url, ' (Ctrl+C stops it).' if block else '.')
  if block:
    page.block_thread()
  return page, url


def _theme():
  """gradio's default theme with the system's fonts: the page never asks a font server for anything."""
  import gradio as gr
  return gr.themes.Default(font=['ui-sans-serif', 'system-ui', 'sans-serif'], font_mono=['ui-monospace', 'monospace'])


def serve(workdir: str | None, config=None, checkpoint=None, host: str = '127.0.0.1', port: int | None = 7860,
          out_dir: str | None = None, max_sliders: int = MAX_SLIDERS, block: bool = True):
  """`--mode=demo` and `python -m dss_jax.demo`: the editing page of a workdir's model, or of the model shipped
  with the package (`bundle.SHIPPED`) when workdir is None. The console says what it does while it starts
  (loading, compiling), then where the page is."""
  logging.info('Loading %s ...', f'the model of {workdir}' if workdir else 'the model shipped with dss_jax')
  try:
    import gradio  # noqa: F401
  except ImportError:
    raise SystemExit("error: the editing page needs gradio, an optional extra: pip install -e '.[demo]'.") from None
  if workdir is None:
    editor = make_shipped_editor(max_sliders)
    meta = bundle.info()
    title = f"the shipped model ({meta['description']}, step {meta['steps']})"
    out_dir = out_dir or os.path.join(os.getcwd(), 'dss_jax_demo')
  else:
    editor = make_editor(workdir, config, checkpoint, max_sliders)
    t = editor.translator
    title = f'{os.path.abspath(workdir)}, step {t.step}, {"DSS flow" if t.is_flow else "StarGAN v2 MLP"} mapping'
    out_dir = out_dir or os.path.join(workdir, 'demo')
  return launch(editor, os.path.abspath(out_dir), host, port, block, title)


def main(argv):
  from absl import app, flags

  from dss_jax import console, errors
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  FLAGS = flags.FLAGS
  logging.info('Starting the editing page: importing TensorFlow ...')  # Seconds in which nothing else is said.
  console.import_tensorflow_quietly()
  with errors.sentences_not_tracebacks():
    serve(FLAGS.workdir, checkpoint=FLAGS.checkpoint, host=FLAGS.host, port=FLAGS.port, out_dir=FLAGS.out_dir,
          max_sliders=FLAGS.max_sliders)


if __name__ == '__main__':
  from absl import app, flags

  from dss_jax import console
  flags.DEFINE_string('workdir', None, 'The trained dss_jax workdir (its config.json and latest checkpoint); '
                      'without it, the model shipped with dss_jax (README\'s main job on the synthetic data).')
  flags.DEFINE_string('checkpoint', None, 'Step number, checkpoint folder or other workdir (default: the latest).')
  flags.DEFINE_string('host', '127.0.0.1', 'Address to serve on (0.0.0.0 to let other machines in).')
  flags.DEFINE_integer('port', 7860, 'Port to serve on.')
  flags.DEFINE_string('out_dir', None, 'Where "Save grid" writes (default <workdir>/demo, or ./dss_jax_demo for '
                      'the shipped model).')
  flags.DEFINE_integer('max_sliders', MAX_SLIDERS, 'At most this many sliders (the components with the largest '
                       'effects).')
  console.setup_logging()
  app.run(main)
