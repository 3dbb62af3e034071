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

Where the data's true factors are known (a bundle whose model.json has 'sliders', as the shipped model's),
each slider is named after the factor it moves most ("hue"; "mostly hue" below CLEAR_SHARE), with that
factor's share of the slider's style change from -3 to +3 (within +-1 and beyond) in its note. Otherwise it is
labelled with what it moves most, measured when the page starts (and for each domain when it is first chosen)
from `Translator.traverse` at -3 and +3 (the slider's whole range) on a few validation sources: whether the
change is mostly colour or brightness, where in the picture it is (the centre, the edges or everywhere), and,
in words, its rank and size (the mean absolute change per pixel, `Translator.component_effects`' number, as a
share of the pixels' range). A model with more than --max_sliders components shows the sliders of those with
the largest effects in the first domain. On the synthetic data the domains are shown with what makes them
differ ("domain0: orange objects, dark background", `describe_domains`).

Beside one output the page shows several: six random styles (by seed; a click takes one), the source with the
same coordinates in every domain (a click goes there) and, on request, a strip of steps from the style in use
to the last reference's (`Translator.interpolate`). A seed box reproduces a random style; truncation psi
scales the coordinates toward the domain's average (F(psi z), as `Translator.latent_style`). A slider's ↺ goes
back to the value of the style in use (the reference's, or the seed's) and redraws; "Reset all" puts every
slider and psi back; "Back to the reference's style" returns to the last reference of the domain; three worked
examples set a source, a domain and a style. A number typed beyond a slider's ends is clamped, with a note. The
page's first screen says what to do; the method is in a closed "How this works" section.

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

from dss_jax import bundle, inference
from dss_jax import images as imglib

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
CLEAR_SHARE = 0.75  # A slider whose factor makes this share of its change is named by the factor alone ("hue").
STYLE_COUNT = 6  # Random styles shown at once.
STRIP_STEPS = 6  # Pictures in the strip from the style in use to the reference's.
PSI_STEP = 0.05
ROW_HEIGHT = 130  # Pixels of the rows of random styles, domains and the strip: one row of thumbnails.

# gradio's gallery gives each column at least 100 px, so four columns overflow a third of the page and the
# fourth is cut off (six random styles, half of it): here the columns share the gallery's width and the thumbnails
# stay square. Its upload box's
# text is at least 240 px tall, which a smaller box clips ("Click to Upload"): here it is as tall as its box.
PAGE_CSS = """
#sources .grid-container, #references .grid-container, #styles .grid-container, #all_domains .grid-container,
#strip .grid-container {
  grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)); grid-auto-rows: auto; grid-template-rows: none;
}
#sources .thumbnail-item, #references .thumbnail-item, #styles .thumbnail-item, #all_domains .thumbnail-item,
#strip .thumbnail-item { width: 100%; height: auto; aspect-ratio: 1 / 1; }
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


# ------------------------------------------------------------------------------------------ what a domain looks like

# The synthetic data's object hue: style hue h in (0, 1) is the colour wheel's angle 0.75 * 360 * h (red at 0).
HUE_WORDS = ((15, 'red'), (50, 'orange'), (70, 'yellow'), (100, 'yellow-green'), (160, 'green'), (200, 'cyan'),
             (255, 'blue'), (300, 'violet'), (361, 'red'))
BACKGROUND_WORDS = ((0.28, 'dark'), (0.42, 'dark grey'), (0.58, 'mid-grey'), (0.72, 'light grey'), (1.01, 'light'))
STRIPE_WORDS = ((0.2, 'faint stripes'), (0.4, 'stripes'), (1.01, 'strong stripes'))


def _word(value: float, words) -> str:
  return next(word for bound, word in words if value < bound)


def describe_domains(config, names) -> list[str]:
  """The domains' names as the page shows them: on the synthetic data, with what makes each differ (its typical
  object hue, background and stripes: the median of the style distribution p(s | u) that alone tells its domains
  apart), e.g. 'domain0: orange objects, dark background'; other data keeps its names (cat, dog, ...).

  The words follow datasets/synthetic.py's renderer (hue over 0.75 of the colour wheel from red; background
  lightness 0.08 + 0.84 s; stripe contrast 0.75 s); the translator's domain names are not changed.
  """
  names = list(names)
  if config.get('dataset') != 'synthetic' or 'synthetic' not in config:
    return names
  from dss_jax.datasets import synthetic
  n_style = int(config.synthetic.n_style)
  loc, _ = synthetic.style_distribution(n_style)
  if len(loc) != len(names):
    return names
  median = 1 / (1 + np.exp(-loc))  # The median of a logit-normal factor: sigmoid(loc).
  described = []
  for name, s in zip(names, median):
    words = [f'{_word(0.75 * 360 * s[0], HUE_WORDS)} objects']
    if n_style >= 2:
      words.append(f'{_word(0.08 + 0.84 * s[1], BACKGROUND_WORDS)} background')
    if n_style >= 3:
      words.append(_word(0.75 * s[2], STRIPE_WORDS))
    described.append(f'{name}: {", ".join(words)}')
  return described


@dataclasses.dataclass(frozen=True)
class Component:
  """One style component as a slider shows it: its index, what it moves, where, and its effect size (the mean
  |change| per pixel and channel, in [-1, 1] units, from -SLIDER_RANGE to +SLIDER_RANGE; its rank among the
  domain's `count`). factor: where the data's true factors are known (a bundle's model.json 'sliders' entry:
  factor, share, share_inner, factor_inner, share_outer, factor_outer), the factor it moves most and how much of
  its change that is; shared_name: another slider moves the same factor most, so the name adds the index."""
  index: int
  what: str
  where: str
  effect: float
  rank: int
  count: int
  factor: dict | None = None
  shared_name: bool = False

  @property
  def name(self) -> str:
    """What the page calls the slider in its notes: the factor it moves ("hue"), or "component 3"."""
    if not self.factor:
      return f'component {self.index}'
    return self.factor['factor'] + (f' (component {self.index})' if self.shared_name else '')

  @property
  def label(self) -> str:
    if not self.factor:
      return f'component {self.index}: {self.what}, {self.where}'
    share = self.factor['share']
    return self.name if share >= CLEAR_SHARE else f'mostly {self.name}' if share >= 0.5 else f'{self.name} and more'

  @property
  def info(self) -> str:
    """The effect in words: the true factor's share of the change it makes (when known), else its rank; and the
    change as a share of the pixels' whole range (2 in [-1, 1]), over the slider's whole range."""
    span = f'from {-SLIDER_RANGE:g} to {SLIDER_RANGE:+g}'
    size = f'{50 * self.effect:.1f}%'
    if self.factor:
      f = self.factor
      parts = ''
      if 'share_inner' in f and 'share_outer' in f:
        parts = (f" (within ±1: {f['share_inner']:.0%} {f.get('factor_inner', f['factor'])}; beyond: "
                 f"{f['share_outer']:.0%} {f.get('factor_outer', f['factor'])})")
      return f"{f['share']:.0%} of its style change {span} is {f['factor']}{parts}; the picture changes by {size}"
    which = 'the strongest' if self.rank == 1 else f'{_ordinal(self.rank)} strongest'
    return f'{which} of {self.count}: {span} it changes the picture by {size} on average'


def _ordinal(n: int) -> str:
  return f'{n}{"th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")}'


# ------------------------------------------------------------------------------------------ the editor


class Editor:
  """What the page computes, without the page: a Translator, the validation images, and the style's
  coordinates in the edit space (z for DSS; standardised code components for StarGAN v2).

  Coordinates are numpy [style_dim] vectors (for DSS z_dim = style_dim), or [N, style_dim] for several styles;
  images [H, W, 3] in [-1, 1]. factors: a bundle's model.json 'sliders' (one entry per component: the true
  factor it moves most, measured against the data's factors), which name the sliders; without them a slider is
  named by what it is measured to change.
  """

  def __init__(self, translator: inference.Translator, sources=None, labels=None, max_sliders: int = MAX_SLIDERS,
               effect_sources: int = EFFECT_SOURCES, factors=None):
    self.translator = translator
    self.space = 'z' if translator.is_flow else 'style'
    self.sources = np.zeros((0, *translator.nets.x_shape), np.float32) if sources is None else np.asarray(sources)
    self.labels = np.zeros((0,), np.int32) if labels is None else np.asarray(labels, np.int32)
    self.max_sliders = max_sliders
    self.effect_sources = effect_sources
    self.factors = {int(f['component']): dict(f) for f in factors or [] if 'factor' in f and 'share' in f}
    self.domain_labels = describe_domains(translator.config, translator.domains)
    self._components = {}
    first = self.components_of(0)
    self.sliders = sorted(c.index for c in sorted(first, key=lambda c: c.rank)[:max_sliders])

  @property
  def domains(self) -> list[str]:
    return self.translator.domains

  def domain_label(self, domain) -> str:
    """The domain as the page names it ('domain0: orange objects, dark background' on the synthetic data)."""
    return self.domain_labels[self.translator.domain_index(domain)]

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

  def seed_coordinates(self, domain, seeds) -> np.ndarray:
    """The coordinates of the random styles numbered `seeds` (z = Translator.sample_z(1, seed)): the same seed
    gives the same style, on any page. One seed -> [style_dim]; a list -> [len(seeds), style_dim]."""
    many = np.ndim(seeds) > 0
    z = np.stack([self.translator.sample_z(1, seed=int(s))[0] for s in np.atleast_1d(seeds)])
    if self.space == 'z':
      coords = z
    else:
      k = self.translator.domain_index(domain)
      mean, std = self.translator._component_stats(k)
      coords = (self.translator.style_from_z(z, k) - mean) / np.maximum(std, 1e-12)
    return coords if many else coords[0]

  def style(self, coords, domain) -> np.ndarray:
    """The style codes of edit-space coordinates (as `Translator.traverse_styles`): coords [style_dim] or
    [N, style_dim] -> codes of the same shape; domain: one, or one per row."""
    t = self.translator
    coords = np.asarray(coords, np.float32)
    rows = np.atleast_2d(coords)
    if self.space == 'z':
      codes = t.style_from_z(rows, domain)
    else:
      ks = t._labels(domain, len(rows))
      stats = [t._component_stats(int(k)) for k in ks]
      codes = np.stack([m for m, _ in stats]) + rows * np.stack([sd for _, sd in stats])
    return codes[0] if coords.ndim == 1 else codes

  def render(self, source, domain, coords) -> np.ndarray:
    """G(source, style(coords, domain)): [H, W, 3] (unclipped)."""
    return self.translator.generate(np.asarray(source, np.float32)[None], self.style(coords, domain)[None])[0]

  def render_many(self, source, domain, coords) -> np.ndarray:
    """The source with several styles, in one call: coords [N, style_dim] (domain: one, or one per row) ->
    [N, H, W, 3]. Each row is what `render` draws for it."""
    coords = np.atleast_2d(np.asarray(coords, np.float32))
    x = np.repeat(np.asarray(source, np.float32)[None], len(coords), axis=0)
    return self.translator.generate(x, self.style(coords, domain))

  def random_styles(self, source, domain, seeds, psi: float = 1.0) -> np.ndarray:
    """The source with the random styles numbered `seeds`, truncated by psi: [len(seeds), H, W, 3]."""
    return self.render_many(source, domain, psi * self.seed_coordinates(domain, list(seeds)))

  def every_domain(self, source, coords) -> np.ndarray:
    """The source with the same coordinates in every domain (for DSS the same z, so the same draw from each
    domain's style distribution): [num_domains, H, W, 3]."""
    k = len(self.domains)
    return self.render_many(source, np.arange(k), np.repeat(np.asarray(coords, np.float32)[None], k, axis=0))

  def strip(self, source, domain, start, end, num: int = STRIP_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """From the style at coordinates `start` to the one at `end`, in `num` even steps (`Translator.interpolate`:
    in the flow's z for DSS, in the code for StarGAN v2; both are linear in the coordinates): (pictures
    [num, H, W, 3], their coordinates [num, style_dim]; the first is start's, the last exactly end's)."""
    t, k = self.translator, self.translator.domain_index(domain)
    start, end = np.asarray(start, np.float32), np.asarray(end, np.float32)
    alphas = np.linspace(0.0, 1.0, num, dtype=np.float32)[:, None]
    codes = t.interpolate(self.style(start, k), self.style(end, k), domain=k, alphas=alphas[:, 0])
    x = np.repeat(np.asarray(source, np.float32)[None], num, axis=0)
    return t.generate(x, codes), (1 - alphas) * start + alphas * end

  # ------------------------------------------------------------------ slider labels

  def components_of(self, domain) -> list[Component]:
    """Every style component of `domain`, described by what an edit of it from -SLIDER_RANGE to +SLIDER_RANGE
    changes (measured once per domain, from the domain's mean style, on the first effect_sources validation
    images; cached) and, where the factors are known, by the true factor it moves."""
    k = self.translator.domain_index(domain)
    if k not in self._components:
      t = self.translator
      sources = self.sources[:self.effect_sources] if len(self.sources) else np.zeros((1, *t.nets.x_shape), np.float32)
      found = []
      for c in range(t.style_dim):
        out = t.traverse(sources, k, c, [-SLIDER_RANGE, SLIDER_RANGE])  # [2, N, H, W, 3]
        diff = out[1] - out[0]
        found.append((c, *describe_change(diff), float(np.abs(diff).mean())))
      order = sorted(found, key=lambda f: -f[3])
      rank = {f[0]: r + 1 for r, f in enumerate(order)}
      names = [f['factor'] for f in self.factors.values()]
      self._components[k] = [
          Component(c, what, where, effect, rank[c], len(found), factor=self.factors.get(c),
                    shared_name=c in self.factors and names.count(self.factors[c]['factor']) > 1)
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
    coords = self.seed_coordinates(0, 0)
    self.render(source, 0, coords)
    reference = self.coordinates(0, reference=source)
    self.random_styles(source, 0, range(STYLE_COUNT))
    self.every_domain(source, coords)
    self.strip(source, 0, coords, reference)
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
    values = ', '.join(f'{c.name}{"" if c.factor else f" ({c.what}, {c.where})"} {coords[c.index]:+.2f}'
                       for c in self.components_of(k))
    title = f'{self.domain_labels[k]}, edited in {space}. Sliders: {values}'
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
  n_domains = len(editor.domains)
  thumbs = lambda images: [display(x) for x in images]  # noqa: E731
  space_text = ("**DSS** (this model maps styles with a flow): the sliders are the style's z, each component "
                'N(0, 1) in every domain; the flow maps z to the style code and back, so a slider moves one component '
                'and keeps the others exactly as they were.' if editor.space == 'z' else
                "**StarGAN v2** (this model maps styles with an MLP, which has no inverse, so there is no z to edit): "
                "the sliders are the style code's components, in standard deviations from their mean over random "
                "styles of the domain.")
  names_text = ("Each slider is named after the data's true factor it moves most (hue, background), measured against "
                'the true factors of the synthetic data when the model was made; its note gives that factor\'s share '
                f'of all the style change the slider makes from {-SLIDER_RANGE:g} to {SLIDER_RANGE:+g}, within ±1 and '
                'beyond (far out, a slider may move other factors too), and how much the picture changes.'
                if editor.factors else
                "Each slider's label says what it changes most (colour or brightness; the centre, the edges or the "
                f'whole picture) and how strongly: the mean change per pixel when it moves from {-SLIDER_RANGE:g} to '
                f"{SLIDER_RANGE:+g} with the others at the domain's mean style, measured on a few validation pictures "
                'when the page starts (and when a domain is first chosen).')
  how_it_works = (
      'The model redraws the source picture in the look of the target domain; the *style* says which look. A style '
      "comes from a reference picture (the model's style encoder reads it) or from a random draw (New style, a "
      'seed, or one of the random styles below the output).\n\n'
      f'{space_text}\n\n'
      f'{names_text} A model with more than {editor.max_sliders} components shows the strongest ones.\n\n'
      'A seed numbers a random draw: the same seed gives the same style on any page of this model. Truncation ψ '
      "below 1 pulls the style toward the domain's average (ψ times the sliders' coordinates: for DSS F(ψ z), for "
      "StarGAN v2 its truncation trick), so styles look more typical and vary less. The row of domains shows the "
      "source with the same slider positions in every domain; the strip goes from the style in use to the "
      "reference's in even steps (`Translator.interpolate`). The saved grid is titled with the domain and every "
      'slider value.')

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
    out = [c.name for c in editor.slider_components(0) if abs(coords[c.index]) > SLIDER_RANGE]
    if not out:
      return ''
    return (f' {", ".join(out)} of this style lies beyond the sliders\' ends ({-SLIDER_RANGE:g} to '
            f'{SLIDER_RANGE:+g}): it keeps its value until its slider is moved.')

  def output(source, domain, coords):
    return None if source is None else display(editor.render(source, domain, coords))

  def styles_value(source, domain, base, psi):
    """The random styles row: the source with the styles of seeds base .. base + STYLE_COUNT - 1, captioned."""
    if source is None:
      return None
    seeds = range(int(base), int(base) + STYLE_COUNT)
    return [(display(p), f'seed {s}') for s, p in zip(seeds, editor.random_styles(source, domain, seeds, psi))]

  def domains_value(source, coords):
    """The row of domains: the source with the same coordinates in every domain, captioned with its name (the
    dropdown says what each looks like: a caption is one short line over the picture)."""
    if source is None:
      return None
    return [(display(p), name) for p, name in zip(editor.every_domain(source, coords), editor.domains)]

  def styles_row(source, domain, base, psi):
    return gr.Gallery(value=styles_value(source, domain, base, psi), selected_index=None)

  def domains_row(source, coords, domain):
    return gr.Gallery(value=domains_value(source, coords), selected_index=t.domain_index(domain))

  def reference_view_of(reference):
    if reference is None:
      return gr.Image(value=None, label='No reference (a random style)')
    return gr.Image(value=display(reference), label='Reference in use')

  def psi_of(psi):
    return 1.0 if psi is None or not np.isfinite(psi) else float(np.clip(psi, 0.0, 1.0))

  # ------------------------------------------------------------------ the source

  def set_source(image, message_text, domain, coords, psi, base, picked: bool):
    return {source_state: image, source_view: display(image),
            sources: gr.skip() if picked else gr.Gallery(selected_index=None),
            output_view: output(image, domain, coords), message: message_text,
            styles: styles_row(image, domain, base, psi_of(psi)), all_domains: domains_row(image, coords, domain)}

  def pick_source(domain, coords, psi, base, evt: gr.SelectData):
    i = evt.index
    return set_source(editor.sources[i], f'Source: validation image {i} ({editor.domain_label(editor.labels[i])}).',
                      domain, coords, psi, base, picked=True)

  def upload_source(path, domain, coords, source, psi, base):  # The upload box is emptied: ready for the next file.
    if path is None:
      return {}
    image, text = read_image(path, t.config.img_size)
    if image is None:
      return {message: text, source_file: None}
    return {**set_source(image, 'Source: ' + text, domain, coords, psi, base, picked=False), source_file: None}

  # ------------------------------------------------------------------ the domain

  def domain_outputs(domain, source, coords, psi, base):
    refs = thumbs(editor.references(domain))
    note = ('the sliders keep their positions, which give the same random draw in its styles'
            if editor.space == 'z' else "the sliders keep their positions, in its styles' spread")
    # The reference was of the previous domain: neither the page nor the saved grid shows it any more.
    return {references: gr.Gallery(value=refs, selected_index=None), reference_state: None, last_reference: None,
            reference_view: reference_view_of(None), **dict(zip(sliders, sliders_for(domain, coords))),
            output_view: output(source, domain, coords), styles: styles_row(source, domain, base, psi_of(psi)),
            all_domains: domains_row(source, coords, domain),
            message: f'Target domain {editor.domain_label(domain)}: {note}.'}

  def change_domain(domain, source, coords, psi, base):
    return domain_outputs(domain, source, coords, psi, base)

  def pick_domain(source, coords, psi, base, evt: gr.SelectData):  # A picture of the row of domains.
    domain = editor.domains[evt.index]
    return {domain_box: domain, **domain_outputs(domain, source, coords, psi, base)}

  # ------------------------------------------------------------------ the style in use

  def set_style(domain, source, origin, psi, reference, message_text, *, seed=None, picked=None):
    """A new style in use: origin, its coordinates before truncation and slider moves, is where ↺ and "Reset all"
    go back to; the sliders show psi * origin. The references gallery highlights the picked reference only
    (picked: its index there), the random styles row the picked seed only."""
    coords = psi_of(psi) * np.asarray(origin, np.float32)
    return {coords_state: coords, origin_state: origin, reference_state: reference,
            reference_view: reference_view_of(reference),
            references: gr.Gallery(selected_index=picked), **dict(zip(sliders, sliders_for(domain, coords))),
            output_view: output(source, domain, coords), all_domains: domains_row(source, coords, domain),
            seed_box: seed, message: message_text + clipped_note(coords)}

  def use_reference(domain, source, psi, image, index, message_text):
    origin = editor.coordinates(domain, reference=image)
    return {**set_style(domain, source, origin, psi, image, message_text, picked=index),
            last_reference: {'image': image, 'coords': origin, 'index': index}, styles: gr.Gallery(selected_index=None)}

  def pick_reference(domain, source, psi, evt: gr.SelectData):
    return use_reference(domain, source, psi, editor.references(domain)[evt.index], evt.index,
                         f'Style of reference {evt.index} of {domain}: the sliders show its style.')

  def upload_reference(path, domain, source, psi):
    if path is None:
      return {}
    image, text = read_image(path, t.config.img_size)
    if image is None:
      return {message: text, reference_file: None}
    return {**use_reference(domain, source, psi, image, None, f'Reference: {text} The sliders show its style.'),
            reference_file: None}

  def use_seed(domain, source, psi, seed, message_text, picked=None):
    return {**set_style(domain, source, editor.seed_coordinates(domain, seed), psi, None, message_text, seed=seed),
            styles: gr.Gallery(selected_index=picked)}

  def new_style(domain, source, psi, next_seed):
    return {next_seed_state: next_seed + 1,
            **use_seed(domain, source, psi, next_seed, f'A new random style (seed {next_seed}).')}

  def type_seed(seed, domain, source, psi):
    if seed is None or not np.isfinite(seed):  # A box being typed in holds no number yet.
      return {}
    if seed < 0 or seed != int(seed):
      return {message: f'{seed:g} is not a seed: a seed is a whole number, 0 or more.'}
    return use_seed(domain, source, psi, int(seed), f'The random style of seed {int(seed)}.')

  def pick_random_style(domain, source, psi, base, evt: gr.SelectData):
    seed = int(base) + evt.index
    return use_seed(domain, source, psi, seed, f'The random style of seed {seed}.', picked=evt.index)

  def more_styles(domain, source, psi, base):
    base = int(base) + STYLE_COUNT
    return {styles_base: base, styles: styles_row(source, domain, base, psi_of(psi)),
            message: f'Random styles of seeds {base} to {base + STYLE_COUNT - 1}: click one to use it.'}

  def change_psi(psi, domain, source, origin, base):
    if psi is None or not np.isfinite(psi):
      return {}
    value = psi_of(psi)
    coords = value * np.asarray(origin, np.float32)
    note = ('the style as drawn' if value == 1 else
            f"the style pulled {1 - value:.0%} of the way to the domain's average")
    return {coords_state: coords, psi_box: value if value != psi else gr.skip(),
            **dict(zip(sliders, sliders_for(domain, coords))), output_view: output(source, domain, coords),
            styles: styles_row(source, domain, base, value), all_domains: domains_row(source, coords, domain),
            message: f'Truncation ψ {value:g}: {note}; the sliders show it.'}

  def reset_all(domain, source, origin, reference, base):
    whose = "the reference's style" if reference is not None else 'the style in use'
    return {psi_box: 1.0, styles: styles_row(source, domain, base, 1.0),
            **set_style(domain, source, origin, 1.0, reference, f'Every slider and ψ are back at {whose}.'),
            references: gr.skip(), seed_box: gr.skip()}

  def back_to_reference(domain, source, psi, last):
    if last is None:
      return {message: f'No reference of {domain} was used yet: pick or upload one first.'}
    return {**set_style(domain, source, last['coords'], psi, last['image'], "Back to the reference's style.",
                        picked=last['index']), styles: gr.Gallery(selected_index=None)}

  def draw_strip(domain, source, coords, psi, last):
    if last is None:
      return {message: f'No reference of {domain} was used yet: pick or upload one, then come back to it from '
                       'another style.'}
    if source is None:
      return {message: 'Pick or upload a source first.'}
    end = psi_of(psi) * np.asarray(last['coords'], np.float32)
    pictures, steps = editor.strip(source, domain, coords, end)
    captions = ['this style'] + [f'{a:.0%}' for a in np.linspace(0, 1, STRIP_STEPS)[1:-1]] + ["the reference's"]
    return {strip: gr.Gallery(value=[(display(p), c) for p, c in zip(pictures, captions)], selected_index=None),
            strip_state: steps, message: f"{STRIP_STEPS} steps from this style to the reference's: click one to use "
                                         'it.'}

  def pick_strip(domain, source, steps, evt: gr.SelectData):
    coords = np.asarray(steps[evt.index], np.float32)
    return {coords_state: coords, **dict(zip(sliders, sliders_for(domain, coords))),
            output_view: output(source, domain, coords), all_domains: domains_row(source, coords, domain),
            message: f"Step {evt.index + 1} of {STRIP_STEPS} on the way to the reference's style: the sliders show "
                     'it.'}

  # ------------------------------------------------------------------ one slider

  def mover(component):
    name = editor.components_of(0)[component].name

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
              f'{name} was set to {clamped:+g}.')
    return move

  def resetter(component):
    name = editor.components_of(0)[component].name

    def reset(domain, source, coords, origin, reference, psi):  # ↺: back to the style in use, redrawn.
      coords = np.array(coords, np.float32)
      coords[component] = psi_of(psi) * origin[component]
      whose = "the reference's" if reference is not None else "the style's"
      return (coords, slider_value(coords[component]), output(source, domain, coords),
              domains_row(source, coords, domain), f'{name[:1].upper()}{name[1:]} is back at {whose} value, '
              f'{coords[component]:+.2f}.')
    return reset

  def save(domain, source, coords, reference):
    if source is None:
      return gr.skip(), 'Pick or upload a source first.'
    try:
      path = save_grid(editor.grid(source, domain, coords, reference), out_dir, domain)
    except OSError as e:
      return gr.skip(), f'Could not save the grid in {out_dir} ({e.strerror or e}): start the page with --out_dir.'
    return gr.File(value=path, visible=True), f'Saved {path}.'

  # ------------------------------------------------------------------ worked examples

  def worked_examples():
    """A few settings that show what the page does, from the validation images: (button text, settings)."""
    if not len(editor.sources):
      return []
    def pick(k):  # The first validation image of domain k (of the first domain when k has none).
      found = np.flatnonzero(editor.labels == k % n_domains)
      return int(found[0]) if len(found) else 0

    strongest = min(editor.slider_components(0), key=lambda c: c.rank)
    last = n_domains - 1
    found = []
    if len(editor.references(last)):
      found.append((f"A reference's style in {editor.domains[last]}",
                    dict(source=pick(0), domain=last, reference=0, seed=None, psi=1.0, move=None)))
    found.append((f'{strongest.name[:1].upper()}{strongest.name[1:]} at {SLIDER_RANGE:+g}',
                  dict(source=pick(1), domain=0, reference=None, seed=2, psi=1.0,
                       move=(strongest.index, SLIDER_RANGE))))
    found.append(('A typical style (ψ 0.5)', dict(source=pick(2), domain=2 % n_domains, reference=None, seed=5,
                                                  psi=0.5, move=None)))
    return found

  examples = worked_examples()

  def example(j):
    text, e = examples[j]

    def apply():
      domain, source, psi = editor.domains[e['domain']], editor.sources[e['source']], e['psi']
      if e['reference'] is not None:
        image = editor.references(domain)[e['reference']]
        origin = editor.coordinates(domain, reference=image)
        last, what = ({'image': image, 'coords': origin, 'index': e['reference']},
                      f"the style of reference {e['reference']}")
      else:
        image, origin, last, what = None, editor.seed_coordinates(domain, e['seed']), None, f"seed {e['seed']}"
      coords = psi * origin
      if e['move'] is not None:
        coords[e['move'][0]] = e['move'][1]
        what += f", {editor.components_of(domain)[e['move'][0]].name} at {e['move'][1]:+g}"
      if psi != 1:
        what += f', ψ {psi:g}'
      return {source_state: source, source_view: display(source), sources: gr.Gallery(selected_index=e['source']),
              domain_box: domain, references: gr.Gallery(value=thumbs(editor.references(domain)),
                                                         selected_index=e['reference']),
              reference_state: image, last_reference: last, reference_view: reference_view_of(image),
              origin_state: origin, coords_state: coords, psi_box: psi, seed_box: e['seed'],
              **dict(zip(sliders, sliders_for(domain, coords))), output_view: output(source, domain, coords),
              styles: styles_row(source, domain, 1, psi), styles_base: 1,
              all_domains: domains_row(source, coords, domain),
              message: f"Example {j + 1}, {text[:1].lower()}{text[1:]}: validation image {e['source']} in "
                       f'{editor.domain_label(domain)}, {what}.'}
    return apply

  # ------------------------------------------------------------------ the page

  domain0 = editor.domains[0]
  source0 = editor.sources[0] if len(editor.sources) else None
  coords0 = editor.seed_coordinates(domain0, 0)
  with gr.Blocks(title='dss_jax editing page', analytics_enabled=False) as page:
    gr.Markdown(f'### dss_jax editing page: {title}\nPick a source picture, a target domain and a style (a '
                'reference picture, a random style or a seed); then move the sliders: each changes one aspect '
                'of the style.')
    source_state, coords_state = gr.State(source0), gr.State(coords0)
    reference_state, next_seed_state = gr.State(None), gr.State(1)
    origin_state = gr.State(coords0)  # The style in use before truncation and slider moves: where the resets go.
    last_reference = gr.State(None)  # The last reference used in this domain: {image, coords, index}.
    styles_base, strip_state = gr.State(1), gr.State(None)  # The first seed of the random styles; the strip's steps.
    with gr.Row():
      with gr.Column(scale=1):
        sources = gr.Gallery(value=thumbs(editor.sources), label='Source: pick one (validation images)', columns=4,
                             height=260, allow_preview=False, elem_id='sources')
        source_file = gr.File(label='... or upload a source image', elem_id='upload_source', height=UPLOAD_HEIGHT)
        references = gr.Gallery(value=thumbs(editor.references(domain0)), label='Reference: pick one to take its style',
                                columns=4, height=150, allow_preview=False, elem_id='references')
        reference_file = gr.File(label='... or upload a reference image', elem_id='upload_reference',
                                 height=UPLOAD_HEIGHT)
      with gr.Column(scale=2):
        domain_box = gr.Dropdown([(label, name) for label, name in zip(editor.domain_labels, editor.domains)],
                                 value=domain0, label='Target domain', elem_id='domain')
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
        with gr.Row():
          reset_button = gr.Button('Reset all', elem_id='reset_all')
          back_button = gr.Button("Back to the reference's style", elem_id='back_to_reference')
          save_button = gr.Button('Save grid (PNG)', elem_id='save')
        saved = gr.File(label='Saved grid', elem_id='saved', interactive=False, visible=False)  # Shown once saved.
        with gr.Row(equal_height=True):
          new = gr.Button('New style (random)', elem_id='new_style', scale=1)
          seed_box = gr.Number(value=0, label='Seed (type one)', elem_id='seed', scale=1, min_width=100)
          psi_box = takes_any_number(gr.Slider(
              0.0, 1.0, step=PSI_STEP, value=1.0, label='Truncation ψ', elem_id='psi', buttons=[], scale=3,
              info="1: the style as drawn; lower pulls it toward the domain's average (more typical, less varied)"))
      with gr.Column(scale=1):
        sliders = [takes_any_number(gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, step=SLIDER_STEP, label=c.label,
                                              value=slider_value(coords0[c.index]), info=c.info,
                                              elem_id=f'slider_{c.index}'))
                   for c in editor.slider_components(domain0)]
        resets = [gr.Button('↺', visible='hidden', elem_id=f'reset_{c}') for c in editor.sliders]
    with gr.Row():
      with gr.Column(scale=1):
        styles = gr.Gallery(value=styles_value(source0, domain0, 1, 1.0), label='Random styles: click one to use it',
                            columns=STYLE_COUNT, height=ROW_HEIGHT, allow_preview=False, elem_id='styles')
        more = gr.Button('Other random styles', size='sm', elem_id='more_styles')
      with gr.Column(scale=1):
        all_domains = gr.Gallery(value=domains_value(source0, coords0), label='This style in every domain: click one '
                                 'to go there', columns=n_domains, height=ROW_HEIGHT, allow_preview=False,
                                 elem_id='all_domains', selected_index=0)
    with gr.Row():
      with gr.Column(scale=1):
        strip = gr.Gallery(label="From this style to the reference's", columns=STRIP_STEPS, height=ROW_HEIGHT,
                           allow_preview=False, elem_id='strip')
        strip_button = gr.Button("Draw the way to the reference's style", size='sm', elem_id='draw_strip')
      with gr.Column(scale=1):
        gr.Markdown('Worked examples: each sets a source, a domain and a style.' if examples else
                    'Worked examples need validation images.')
        example_buttons = [gr.Button(f'{j + 1}. {text}', size='sm', elem_id=f'example_{j}')
                           for j, (text, _) in enumerate(examples)]
    with gr.Accordion('How this works', open=False, elem_id='how_it_works'):
      gr.Markdown(how_it_works)

    source_outputs = [source_state, source_view, sources, output_view, message, styles, all_domains]
    sources.select(pick_source, [domain_box, coords_state, psi_box, styles_base], source_outputs)
    source_file.upload(upload_source, [source_file, domain_box, coords_state, source_state, psi_box, styles_base],
                       [*source_outputs, source_file])
    domain_outputs_list = [references, reference_state, last_reference, reference_view, *sliders, output_view,
                           styles, all_domains, message]
    # .input: the user's choice only; a worked example sets the domain with the rest of its settings.
    domain_box.input(change_domain, [domain_box, source_state, coords_state, psi_box, styles_base],
                     domain_outputs_list)
    all_domains.select(pick_domain, [source_state, coords_state, psi_box, styles_base],
                       [domain_box, *domain_outputs_list])
    style_outputs = [coords_state, origin_state, reference_state, reference_view, references, *sliders, output_view,
                     all_domains, seed_box, message, styles]
    references.select(pick_reference, [domain_box, source_state, psi_box], [*style_outputs, last_reference])
    reference_file.upload(upload_reference, [reference_file, domain_box, source_state, psi_box],
                          [*style_outputs, last_reference, reference_file])
    new.click(new_style, [domain_box, source_state, psi_box, next_seed_state], [next_seed_state, *style_outputs])
    seed_box.input(type_seed, [seed_box, domain_box, source_state, psi_box], style_outputs, trigger_mode='always_last')
    styles.select(pick_random_style, [domain_box, source_state, psi_box, styles_base], style_outputs)
    more.click(more_styles, [domain_box, source_state, psi_box, styles_base], [styles_base, styles, message])
    psi_box.input(change_psi, [psi_box, domain_box, source_state, origin_state, styles_base],
                  [coords_state, psi_box, *sliders, output_view, styles, all_domains, message],
                  trigger_mode='always_last')
    reset_button.click(reset_all, [domain_box, source_state, origin_state, reference_state, styles_base],
                       [psi_box, *style_outputs])
    back_button.click(back_to_reference, [domain_box, source_state, psi_box, last_reference], style_outputs)
    strip_button.click(draw_strip, [domain_box, source_state, coords_state, psi_box, last_reference],
                       [strip, strip_state, message])
    strip.select(pick_strip, [domain_box, source_state, strip_state],
                 [coords_state, *sliders, output_view, all_domains, message])
    for c, slider in zip(editor.sliders, sliders):  # .input: the user's moves only, not the page's own updates.
      # The row of domains follows once the output is drawn, so that a move is answered as fast as before.
      slider.input(mover(c), [domain_box, source_state, coords_state, slider],
                   [coords_state, output_view, slider, message], trigger_mode='always_last',
                   show_progress='hidden').then(
                       domains_row, [source_state, coords_state, domain_box], [all_domains], show_progress='hidden')
    for c, slider, reset in zip(editor.sliders, sliders, resets):
      reset.click(resetter(c), [domain_box, source_state, coords_state, origin_state, reference_state, psi_box],
                  [coords_state, slider, output_view, all_domains, message], show_progress='hidden')
    everything = [source_state, source_view, sources, domain_box, references, reference_state, last_reference,
                  reference_view, origin_state, coords_state, psi_box, seed_box, *sliders, output_view, styles,
                  styles_base, all_domains, message]
    for j, button in enumerate(example_buttons):
      button.click(example(j), None, everything)
    page.load(None, js=RESET_REDIRECT)
    save_button.click(save, [domain_box, source_state, coords_state, reference_state], [saved, message])
  return page


def make_editor(workdir: str, config=None, checkpoint=None, max_sliders: int = MAX_SLIDERS) -> Editor:
  """The Editor of a workdir's model (EMA weights), with its validation images, compiled for the page."""
  try:
    translator = inference.Translator.from_checkpoint_flag(workdir, checkpoint, config=config)
  except (FileNotFoundError, ValueError) as e:  # No workdir, no checkpoint, another config's: their sentence.
    raise SystemExit(f'error: {e}') from None
  return _editor(translator, max_sliders)


def make_shipped_editor(max_sliders: int = MAX_SLIDERS, path: str = bundle.SHIPPED) -> Editor:
  """The Editor of the model shipped with the package (bundle.SHIPPED; or another bundle's `path`), compiled for
  the page; its sliders are named after the true factors its model.json says they move."""
  try:
    translator = bundle.load(path)
  except FileNotFoundError as e:
    raise SystemExit(f'error: {e}') from None
  return _editor(translator, max_sliders, factors=bundle.info(path).get('sliders'))


def _editor(translator, max_sliders: int, factors=None) -> Editor:
  logging.info('Loaded step %s; reading its validation images ...', translator.step)
  x, y = _validation_images(translator.config)
  logging.info('Compiling the translator for the page and measuring what each style component moves (once, '
               'before the page opens) ...')
  start = time.perf_counter()
  editor = Editor(translator, x, y, max_sliders=max_sliders, factors=factors)
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
