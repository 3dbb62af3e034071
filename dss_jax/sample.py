"""`--mode=sample`: image grids, a style-interpolation video and per-image files from a trained model.

  python -m dss_jax.main --config=configs/synthetic.py --workdir=runs/demo --mode=sample
  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq --mode=sample \
      --src_dir=assets/representative/afhq/src --ref_dir=assets/representative/afhq/ref
  python -m dss_jax.main --config=configs/afhq.py --workdir=runs/afhq --mode=sample \
      --image=cat.jpg --target=dog --num=8

Uses the EMA weights of the workdir's latest checkpoint (or `--checkpoint=STEP|PATH`) through
`inference.Translator`. Sources and references come from `--src_dir` / `--ref_dir` (a folder of
`<domain>/` sub-folders, or for sources a flat folder) or, by default, the dataset's validation split.
Writes into `--out_dir` (default <workdir>/sample_<step>/):

- `reference.png`: reference-guided grid, rows = references, columns = sources (as StarGAN v2).
- `latent_<domain>_psi<psi>.png`: per target domain and truncation psi (0.5, 0.7, 1.0), rows = sources,
  columns = the source then `num` random styles (the same z in every grid, so the psi grids compare).
  With the flow, truncation is z * psi in Gaussian space; with the MLP, s_avg + psi (s - s_avg).
- `reference_truncation.png` (flow only): each reference's style truncated towards its domain's centre
  in z space (psi 1, 0.7, 0.5, 0), applied to the first two sources (each shown before its outputs).
Every grid carries labels: column and row titles (source, reference, z index, psi, domain names).
- `interpolation.mp4` (ffmpeg on PATH) or `interpolation.gif`: style interpolation between consecutive
  same-domain references (StarGAN v2's 31-frame sigmoid schedule, 30 fps at half speed, last frame held);
  with the flow the path runs through z space (reference -> z -> back), so every frame is a code the
  mapping can produce.
- `images/`: every output as its own PNG.
With `--image`: `<name>_to_<target>.png` (rows = psi, columns = the source then `num` styles) and
`<name>_to_<target>/psi<psi>_<j>.png`.
"""

import math
import os
import shutil
import subprocess

import numpy as np
from absl import logging
from PIL import Image

from dss_jax import eval_data, inference
from dss_jax import images as imglib

PSIS = (0.5, 0.7, 1.0)
TRUNCATION_PSIS = (1.0, 0.7, 0.5, 0.0)
VIDEO_FPS = 30
WHITE = 1.0  # A blank grid cell ([-1, 1] images).


# ------------------------------------------------------------------------------------------ video


def video_alphas() -> np.ndarray:
  """StarGAN v2's interpolation schedule: 0, sigmoid(-5, -4.5, ..., 4.5) (20 values), then 1 ten times."""
  return np.concatenate([[0.0], 1.0 / (1.0 + np.exp(-np.arange(-5.0, 5.0, 0.5))), np.ones(10)]).astype(np.float32)


def write_video(frames, path_stem: str, fps: int = VIDEO_FPS, slow: int = 2, fmt: str | None = None) -> str:
  """Writes uint8 frames [T, H, W, 3]: mp4 (libx264) when ffmpeg is on PATH, else an animated GIF via PIL.

  The video plays at fps / slow (StarGAN v2: 30 fps with setpts=2*PTS) and holds the last frame 10 times.
  fmt forces 'mp4' or 'gif'. Returns the written path (path_stem + '.mp4' or '.gif').
  """
  frames = np.asarray(frames, np.uint8)
  frames = np.concatenate([frames, np.repeat(frames[-1:], 10, axis=0)])
  fmt = fmt or ('mp4' if shutil.which('ffmpeg') else 'gif')
  os.makedirs(os.path.dirname(os.path.abspath(path_stem)), exist_ok=True)
  if fmt == 'mp4':
    h, w = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=255)  # yuv420p: even sizes.
    path = path_stem + '.mp4'
    cmd = ['ffmpeg', '-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s',
           f'{frames.shape[2]}x{frames.shape[1]}', '-r', str(fps), '-i', '-', '-vf', f'setpts={slow}*PTS',
           '-vcodec', 'libx264', '-pix_fmt', 'yuv420p', path]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    return path
  if fmt != 'gif':
    raise ValueError(f"fmt must be 'mp4' or 'gif', not {fmt!r}.")
  path = path_stem + '.gif'
  pictures = [Image.fromarray(f) for f in frames]
  duration = int(round(1000 * slow / fps, -1))  # GIF delays are in 10 ms units.
  pictures[0].save(path + '.tmp.gif', save_all=True, append_images=pictures[1:], duration=duration, loop=0)
  os.replace(path + '.tmp.gif', path)
  return path


# ------------------------------------------------------------------------------------------ inputs


def _round_robin(labels, n: int) -> np.ndarray:
  """Indices of up to n items taken in turn from each label (domain-balanced, stable order)."""
  labels = np.asarray(labels)
  queues = [list(np.nonzero(labels == u)[0]) for u in np.unique(labels)]
  out = []
  while len(out) < n and any(queues):
    for q in queues:
      if q and len(out) < n:
        out.append(q.pop(0))
  return np.array(sorted(out, key=lambda i: (labels[i], i)), np.int64)


def _val_split(config, per_domain: int):
  """Up to per_domain validation images of every domain: (images [N, H, W, 3], labels [N]), sorted by domain.

  The synthetic split comes from memory (no TensorFlow), the others through the input pipeline.
  """
  xs, ys, counts = [], [], {}
  for batch in eval_data.eval_batches(config, 'test'):
    for img, label in zip(batch['image'], batch['label']):
      if counts.get(int(label), 0) < per_domain:
        counts[int(label)] = counts.get(int(label), 0) + 1
        xs.append(img)
        ys.append(int(label))
  x, y = np.stack(xs), np.array(ys, np.int32)
  keep = np.concatenate([np.nonzero(y == u)[0][:per_domain] for u in np.unique(y)])
  return x[keep], y[keep]


def _folder(path: str, translator: inference.Translator, what: str):
  """A folder of images -> (images, labels in the model's domain indices, -1 for a flat folder)."""
  from dss_jax.datasets.image_folder import load_image_folder
  x, labels, names = load_image_folder(path, translator.config.img_size)
  if names:
    if all(n in translator.domains for n in names):
      mapping = [translator.domains.index(n) for n in names]
    elif len(names) == translator.config.num_domains:
      mapping = list(range(len(names)))  # Sorted folder names, as training labels them.
    else:
      raise ValueError(f'{what} {path!r} has domain folders {names}, which are not the model\'s domains '
                       f'({", ".join(translator.domains)}).')
    labels = np.array([mapping[k] for k in labels], np.int32)
  return x, labels


def _inputs(translator, src_dir, ref_dir, target, max_images):
  """(sources, source labels, references, reference labels): folders, else the validation split."""
  config, k = translator.config, translator.config.num_domains
  val = None
  if src_dir:
    x_src, y_src = _folder(src_dir, translator, '--src_dir')
  else:
    val = _val_split(config, per_domain=math.ceil(max_images / k) + 2)
    x_src, y_src = val
  pick = _round_robin(y_src, max_images)
  x_src, y_src = x_src[pick], y_src[pick]
  if ref_dir:
    x_ref, y_ref = _folder(ref_dir, translator, '--ref_dir')
    if (y_ref < 0).any():
      if target is None:
        raise ValueError(f'--ref_dir {ref_dir!r} is a flat folder: its references need a domain. Lay it out as '
                         '<domain>/ sub-folders, or give --target=DOMAIN for all of them.')
      y_ref = np.full(len(y_ref), translator.domain_index(target), np.int32)
    order = np.argsort(y_ref, kind='stable')[:max(max_images, 2 * k)]
    x_ref, y_ref = x_ref[order], y_ref[order]
  else:
    val = val or _val_split(config, per_domain=math.ceil(max_images / k) + 2)
    x, y = val
    # Two references per domain (so the video has same-domain pairs), other images than the sources.
    idx = np.concatenate([np.nonzero(y == u)[0][-2:] for u in np.unique(y)])
    x_ref, y_ref = x[idx], y[idx]
  return x_src, y_src, x_ref, y_ref


# ------------------------------------------------------------------------------------------ outputs


def _save_all(directory, named_images):
  for name, img in named_images:
    imglib.save_png(os.path.join(directory, name), imglib.to_uint8(img))


def _name(translator, label) -> str:
  """A domain's name; '' for -1 (an image of a flat folder, whose domain is unknown)."""
  return translator.domains[int(label)] if int(label) >= 0 else ''


def reference_grid(translator, x_src, x_ref, y_ref, y_src=None):
  """Rows = references (first column), columns = sources (first row): G(x_src, E(x_ref, y_ref)).

  Labelled: each source column with its domain (y_src, when known), each row with the reference's domain.
  Returns (uint8 grid, outputs [R, S, H, W, 3]).
  """
  s = translator.encode_style(x_ref, y_ref)  # [R, D]
  n_src, n_ref = len(x_src), len(x_ref)
  out = translator.generate(np.tile(x_src, (n_ref, 1, 1, 1)), np.repeat(s, n_src, axis=0))
  out = out.reshape(n_ref, n_src, *x_src.shape[1:])
  blank = np.full_like(x_src[0], WHITE)
  rows = [[blank, *x_src]] + [[x_ref[r], *out[r]] for r in range(n_ref)]
  y_src = [-1] * n_src if y_src is None else y_src
  cols = ['reference'] + [f'source {j}\n{_name(translator, u)}'.strip() for j, u in enumerate(y_src)]
  row_labels = ['sources'] + [f'style of\n{_name(translator, u)}' for u in y_ref]
  title = 'reference-guided: each source (column) with the style of each reference (row)'
  return imglib.labelled_grid(rows, cols, row_labels, title=title), out


def latent_grid(translator, x_src, domain, z, psi, y_src=None):
  """Rows = sources (first column), columns = one style per z: G(x_src, F(z, u)) at truncation psi.

  Labelled: columns 'source', 'z 0', 'z 1', ...; rows with the source's domain (y_src, when known).
  Returns (uint8 grid, outputs [S, Z, H, W, 3]).
  """
  s = translator.latent_style(z, domain, psi)
  n_src, n_z = len(x_src), len(z)
  out = translator.generate(np.repeat(x_src, n_z, axis=0), np.tile(s, (n_src, 1))).reshape(n_src, n_z,
                                                                                             *x_src.shape[1:])
  rows = [[x_src[i], *out[i]] for i in range(n_src)]
  cols = ['source'] + [f'z {j}' for j in range(n_z)]
  row_labels = None if y_src is None else [_name(translator, u) for u in y_src]
  title = f'latent-guided to {translator.domains[translator.domain_index(domain)]}, psi {psi:g}'
  return imglib.labelled_grid(rows, cols, row_labels, title=title), out


def truncation_grid(translator, x_src, x_ref, y_ref, psis=TRUNCATION_PSIS, n_src=2):
  """Flow only: each reference's code truncated in z space, F(psi F^-1(E(x_ref))), on the first sources.

  A row per reference: the reference, then per source the source itself and its outputs at each psi.
  """
  s = translator.encode_style(x_ref, y_ref)
  src = x_src[:n_src]
  rows = []
  for r in range(len(x_ref)):
    codes = np.concatenate([translator.truncate(s[r:r + 1], y_ref[r], p) for p in psis])  # [P, D]
    out = translator.generate(np.repeat(src, len(psis), axis=0), np.tile(codes, (len(src), 1)))
    out = out.reshape(len(src), len(psis), *src.shape[1:])
    rows.append([x_ref[r]] + [img for i in range(len(src)) for img in (src[i], *out[i])])
  cols = ['reference'] + [label for i in range(len(src)) for label in (f'source {i}', *(f'psi {p:g}' for p in psis))]
  title = "reference style truncated towards its domain's centre in z (psi 1 = the reference's, 0 = the centre)"
  return imglib.labelled_grid(rows, cols, [_name(translator, u) for u in y_ref], title=title)


def interpolation_frames(translator, x_src, x_ref, y_ref, seed=0):
  """Frames [T, H', W', 3] uint8: for consecutive same-domain references (a, b), 31 frames of
  [ref a | ref b | G(x_src, s_alpha)], s_alpha on the path from E(a) to E(b) (in z space with the flow).

  Without a same-domain pair, interpolates between two random styles of each domain instead.
  """
  alphas = video_alphas()
  s_ref = translator.encode_style(x_ref, y_ref)
  pairs = [(s_ref[i], s_ref[i + 1], y_ref[i], x_ref[i], x_ref[i + 1]) for i in range(len(x_ref) - 1)
           if y_ref[i] == y_ref[i + 1]]
  if not pairs:
    blank = np.full_like(x_src[0], WHITE)
    for u in range(translator.config.num_domains):
      a, b = translator.sample_style(u, 2, seed=seed + u)
      pairs.append((a, b, u, blank, blank))
  frames = []
  for s_a, s_b, u, img_a, img_b in pairs:
    path = translator.interpolate(s_a, s_b, domain=int(u), alphas=alphas)  # [T, D]
    out = translator.generate(np.tile(x_src, (len(path), 1, 1, 1)), np.repeat(path, len(x_src), axis=0))
    out = out.reshape(len(path), len(x_src), *x_src.shape[1:])
    frames.extend(imglib.grid([[img_a, img_b, *out[t]]]) for t in range(len(path)))
  return np.stack(frames)


TRAVERSAL_VALUES = (-2.0, -1.0, 0.0, 1.0, 2.0)  # Standard deviations from the component's mean.


def _first_reference(x_ref) -> dict:
  """A traversal's starting style: the first reference's, or (no reference) the domain's mean."""
  return {'reference': x_ref[:1]} if x_ref is not None and len(x_ref) else {}


def traversal_sheet(translator, x_src, domain, x_ref=None, values=TRAVERSAL_VALUES, n_src=2, max_components=8):
  """Edits of one style component at a time (`Translator.traverse`), from x_ref[0]'s style (else the domain's
  mean). Rows: the components ordered by effect (most first), each for n_src sources; columns: the source, then
  the component at each value. DSS moves the component's z through the flow (the others stay fixed by
  construction); StarGAN v2 has no inverse and moves its style code. -> (picture, components, effects)."""
  base = _first_reference(x_ref)
  sources = x_src[:n_src]
  effects = translator.component_effects(sources, domain, **base)
  order = [int(c) for c in np.argsort(effects)[::-1][:max_components]]
  rows, row_labels = [], []
  for c in order:
    out = translator.traverse(sources, domain, c, values, **base)  # [V, n, H, W, 3]
    rows.extend([sources[i], *out[:, i]] for i in range(len(sources)))
    row_labels.extend(f'component {c}\neffect {effects[c]:.3f}' if i == 0 else '' for i in range(len(sources)))
  space = 'z (flow)' if translator.is_flow else 'style code'
  title = (f'{translator.domains[domain]}: one style component at a time, edited in {space}, from '
           f'{"a reference" if base else "the mean"} style')
  col_labels = ['source'] + [f'{v:+g} std' for v in values]
  return imglib.labelled_grid(rows, col_labels, row_labels, title), order, effects


def traversal_frames(translator, x_src, domain, component, x_ref=None, num=31):
  """Frames [T, H', W', 3] uint8 of one component swept from -2 to +2 std (there and back), for the sources."""
  base = _first_reference(x_ref)
  sweep = np.concatenate([np.linspace(-2, 2, num), np.linspace(2, -2, num)[1:]])
  out = translator.traverse(x_src, domain, component, sweep, **base)
  return np.stack([imglib.labelled_grid([list(out[t])], title=f'component {component}: {sweep[t]:+.1f} std')
                   for t in range(len(out))])


def translate_one(translator, image_path, target, num, psis, out_dir, seed=0):
  """`--image`: one image to `target` (name/index; None = every domain) with `num` random styles per psi."""
  x = imglib.load_image(image_path, translator.config.img_size)[None]
  stem = os.path.splitext(os.path.basename(image_path))[0]
  targets = [translator.domain_index(target)] if target is not None else range(translator.config.num_domains)
  z = translator.sample_z(num, seed)
  written = []
  for u in targets:
    name = f'{stem}_to_{translator.domains[u]}'
    rows = []
    for psi in psis:
      _, out = latent_grid(translator, x, u, z, psi)
      rows.append([x[0], *out[0]])
      _save_all(os.path.join(out_dir, name), [(f'psi{psi:g}_{j:02d}.png', o) for j, o in enumerate(out[0])])
    picture = imglib.labelled_grid(rows, ['source'] + [f'z {j}' for j in range(num)], [f'psi {p:g}' for p in psis],
                                   title=f'{stem} to {translator.domains[u]}')
    written.append(imglib.save_png(os.path.join(out_dir, name + '.png'), picture))
  return written


def run(config, workdir, *, checkpoint=None, out_dir=None, src_dir=None, ref_dir=None, image=None, target=None,
        num=8, psis=PSIS, max_images=8, seed=0, video=True, video_format=None, translator=None, traversal=True,
        traversal_values=TRAVERSAL_VALUES) -> dict:
  """`--mode=sample`; returns {'out_dir', and what was written: 'reference', 'latent', 'truncation', 'traversal'
  (a sheet per target domain, one row per style component, and a video per leading component), 'video',
  'images' (folder), or with `image`: 'translations'}.

  checkpoint: a step number, a checkpoint folder or another workdir (default: the latest in workdir).
  translator: use this model instead of loading one (notebooks, tests).
  """
  if translator is None:
    translator = inference.Translator.from_checkpoint_flag(workdir, checkpoint, config=config)
  if target is not None:
    translator.domain_index(target)  # An unknown target is one sentence before anything is written.
  step = translator.step if translator.step is not None else 0
  out_dir = out_dir or os.path.join(workdir, f'sample_{step:06d}')
  psis = tuple(float(p) for p in psis)
  result = {'out_dir': out_dir}
  if image:
    result['translations'] = translate_one(translator, image, target, num, psis, out_dir, seed)
    logging.info('Wrote %s', ', '.join(result['translations']))
    return result

  x_src, y_src, x_ref, y_ref = _inputs(translator, src_dir, ref_dir, target, max_images)
  logging.info('Sampling from step %d: %d sources, %d references -> %s', step, len(x_src), len(x_ref), out_dir)
  picture, out = reference_grid(translator, x_src, x_ref, y_ref, y_src)
  result['reference'] = imglib.save_png(os.path.join(out_dir, 'reference.png'), picture)
  images_dir = os.path.join(out_dir, 'images')
  _save_all(os.path.join(images_dir, 'reference'),
            [(f'ref{r:02d}_{translator.domains[y_ref[r]]}_src{s:02d}.png', out[r, s])
             for r in range(out.shape[0]) for s in range(out.shape[1])])

  z = translator.sample_z(num, seed)
  result['latent'] = []
  targets = [translator.domain_index(target)] if target is not None else range(translator.config.num_domains)
  for u in targets:
    name = translator.domains[u]
    for psi in psis:
      picture, out = latent_grid(translator, x_src, u, z, psi, y_src)
      result['latent'].append(imglib.save_png(os.path.join(out_dir, f'latent_{name}_psi{psi:g}.png'), picture))
      _save_all(os.path.join(images_dir, 'latent'),
                [(f'src{s:02d}_to_{name}_psi{psi:g}_{j:02d}.png', out[s, j])
                 for s in range(out.shape[0]) for j in range(out.shape[1])])
  if translator.is_flow:
    result['truncation'] = imglib.save_png(os.path.join(out_dir, 'reference_truncation.png'),
                                           truncation_grid(translator, x_src, x_ref, y_ref))
  if traversal:
    result['traversal'] = []
    for u in targets:
      refs = x_ref[y_ref == u]
      picture, order, effects = traversal_sheet(translator, x_src, u, refs, traversal_values)
      name = translator.domains[u]
      result['traversal'].append(imglib.save_png(os.path.join(out_dir, f'traversal_{name}.png'), picture))
      logging.info('%s: style components by effect %s (%s edits)', name,
                   ', '.join(f'{c} ({effects[c]:.3f})' for c in order), 'z-space' if translator.is_flow else 'code')
      if video:
        for c in order[:3]:
          frames = traversal_frames(translator, x_src[:4], u, c, refs)
          result['traversal'].append(write_video(frames, os.path.join(out_dir, f'traversal_{name}_component{c}'),
                                                 fmt=video_format))
  if video:
    frames = interpolation_frames(translator, x_src, x_ref, y_ref, seed)
    result['video'] = write_video(frames, os.path.join(out_dir, 'interpolation'), fmt=video_format)
  result['images'] = images_dir
  logging.info('Wrote the sample grids, %s and the per-image outputs under %s', result.get('video', 'no video'),
               out_dir)
  return result
