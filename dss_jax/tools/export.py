"""Exports a trained model's translators, to serve them without dss_jax: a TF SavedModel or StableHLO files.

  python -m dss_jax.tools.export --workdir=runs/demo --out=exported/demo_savedmodel --format=savedmodel
  python -m dss_jax.tools.export --workdir=runs/demo --out=exported/demo_stablehlo --format=stablehlo

Both formats hold the EMA weights of the workdir's latest checkpoint (or `--checkpoint=STEP|PATH`, as
`--mode=sample`) and three translations, each for any batch size B (the batch axis is symbolic):

  latent     (source [B, H, W, 3], domain [B] int32, z [B, z_dim])       -> G(source, F(z, domain))
  reference  (source [B, H, W, 3], domain [B] int32, reference [B, H, W, 3]) -> G(source, E(reference, domain))
  style      (source [B, H, W, 3], style [B, style_dim])                 -> G(source, style)

Images are float32 in [-1, 1] (H = W = config.img_size), outputs unclipped, exactly as `inference.Translator`'s
`translate(..., z=)`, `translate(..., reference=)` and `generate` (psi = 1). Domains are label indices, in the
order of `dss_jax.json`'s "domains".

- `savedmodel` (jax2tf, native serialization): signatures 'latent', 'reference', 'style' ('serving_default' is
  'latent'), each returning {'image': ...}; the weights are tf.Variables shared by the three. Serving it needs
  only TensorFlow:

      m = tf.saved_model.load('exported/demo_savedmodel')
      out = m.signatures['latent'](source=x, domain=y, z=z)['image']

- `stablehlo` (`jax.export`): `latent.jax_exported`, `reference.jax_exported`, `style.jax_exported`, each a
  serialized `jax.export.Exported` with its weights embedded as constants (so each file stands alone); needs
  only jax: `jax.export.deserialize(open(path, 'rb').read()).call(x, y, z)`.

Both are lowered for every platform of `--platforms` (default cpu, cuda and tpu), so the same files serve on
any of them. `dss_jax.json` (in the SavedModel's `assets.extra/`, beside the StableHLO files) records the
domains, the shapes, the mapping and the checkpoint step. The output folder is written under a temporary name
and renamed when complete; an existing one is replaced only with `--overwrite`.
"""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from dss_jax import inference

FORMATS = ('savedmodel', 'stablehlo')
SIGNATURES = ('latent', 'reference', 'style')
PLATFORMS = ('cpu', 'cuda', 'tpu')
METADATA = 'dss_jax.json'


# ------------------------------------------------------------------------------------------ the functions


def translations(translator: inference.Translator) -> dict:
  """{name: (fn(params, *inputs), params, {input name: (shape without the batch axis, dtype)})} of the three
  translations; params holds only the networks that translation uses (numpy trees)."""
  nets = translator.nets
  p = jax.device_get(translator.params)
  x_shape = tuple(nets.x_shape)
  image = (x_shape, np.float32)
  domain = ((), np.int32)

  def latent(q, source, domain, z):
    return nets.generate(q['generator'], source, nets.map(q['mapping'], z, domain))

  def reference(q, source, domain, reference):
    return nets.generate(q['generator'], source, nets.style(q['style_encoder'], reference, domain))

  def style(q, source, style):
    return nets.generate(q['generator'], source, style)

  return {
      'latent': (latent, {'generator': p['generator'], 'mapping': p['style']['mapping']},
                 {'source': image, 'domain': domain, 'z': ((nets.z_dim,), np.float32)}),
      'reference': (reference, {'generator': p['generator'], 'style_encoder': p['style']['style_encoder']},
                    {'source': image, 'domain': domain, 'reference': image}),
      'style': (style, {'generator': p['generator']},
                {'source': image, 'style': ((nets.style_dim,), np.float32)}),
  }


def metadata(translator: inference.Translator, fmt: str, platforms) -> dict:
  """What a server needs besides the functions: domain names (label order), shapes, the model's identity."""
  config = translator.config
  return {'format': fmt, 'signatures': {name: list(spec) for name, (_, _, spec) in translations(translator).items()},
          'domains': list(translator.domains), 'image_shape': list(translator.nets.x_shape),
          'z_dim': translator.z_dim, 'style_dim': translator.style_dim, 'mapping': config.mapping,
          'step': translator.step, 'dataset': config.dataset, 'platforms': list(platforms),
          'image_range': [-1.0, 1.0], 'output': 'unclipped, as inference.Translator'}


# ------------------------------------------------------------------------------------------ the formats


def _write_json(path: str, data: dict):
  with open(path, 'w') as f:
    json.dump(data, f, indent=1)


def write_stablehlo(translator: inference.Translator, out: str, platforms=PLATFORMS) -> dict:
  """Writes <out>/<name>.jax_exported for each translation (weights embedded) and <out>/dss_jax.json.
  Returns {name: path}."""
  os.makedirs(out, exist_ok=True)
  b, = jax.export.symbolic_shape('b')
  paths = {}
  for name, (fn, params, spec) in translations(translator).items():
    args = [jax.ShapeDtypeStruct((b, *shape), dtype) for shape, dtype in spec.values()]
    weights = jax.tree.map(jnp.asarray, params)
    exported = jax.export.export(jax.jit(lambda *inputs, fn=fn, w=weights: fn(w, *inputs)),
                                 platforms=list(platforms))(*args)
    paths[name] = os.path.join(out, f'{name}.jax_exported')
    with open(paths[name], 'wb') as f:
      f.write(exported.serialize())
  _write_json(os.path.join(out, METADATA), metadata(translator, 'stablehlo', platforms))
  return paths


def write_savedmodel(translator: inference.Translator, out: str, platforms=PLATFORMS) -> str:
  """Writes a TF SavedModel with signatures 'latent', 'reference', 'style' (+ 'serving_default' = latent) whose
  weights are variables (one copy, shared), and <out>/assets.extra/dss_jax.json. Returns out."""
  import tensorflow as tf
  from jax.experimental import jax2tf

  module = tf.Module()
  p = jax.device_get(translator.params)
  # One set of variables for the three signatures (tf.Module tracks them, so they are saved once).
  module.weights = tf.nest.map_structure(tf.Variable, {'generator': p['generator'], 'mapping': p['style']['mapping'],
                                                       'style_encoder': p['style']['style_encoder']})
  signatures = {}
  for name, (fn, params, spec) in translations(translator).items():
    polymorphic = [None] + [f'(b, {", ".join(map(str, shape))})' if shape else '(b,)' for shape, _ in spec.values()]
    converted = jax2tf.convert(fn, polymorphic_shapes=polymorphic, with_gradient=False,
                               native_serialization_platforms=tuple(platforms))
    input_signature = [tf.TensorSpec((None, *shape), tf.as_dtype(dtype), name=arg)
                       for arg, (shape, dtype) in spec.items()]
    function = tf.function(_serving_function(name, converted, {k: module.weights[k] for k in params}),
                           input_signature=input_signature, autograph=False)
    setattr(module, name, function)
    signatures[name] = function
  signatures['serving_default'] = signatures['latent']
  tf.saved_model.save(module, out, signatures=signatures)
  os.makedirs(os.path.join(out, 'assets.extra'), exist_ok=True)
  _write_json(os.path.join(out, 'assets.extra', METADATA), metadata(translator, 'savedmodel', platforms))
  return out


def _serving_function(name: str, converted, weights: dict):
  """The Python function of one signature: named arguments (tf.function needs them to name the signature's
  inputs), the weights' variables closed over, the output as {'image': ...}."""
  if name == 'latent':
    def latent(source, domain, z):
      return {'image': converted(weights, source, domain, z)}
    return latent
  if name == 'reference':
    def reference(source, domain, reference):
      return {'image': converted(weights, source, domain, reference)}
    return reference

  def style(source, style):
    return {'image': converted(weights, source, style)}
  return style


def export(translator: inference.Translator, out: str, fmt: str, platforms=PLATFORMS, overwrite: bool = False) -> str:
  """Writes `fmt` ('savedmodel' | 'stablehlo') of the translator to the folder `out`, atomically: into
  <out>.partial, renamed to <out> when complete. Raises FileExistsError when out exists and not overwrite."""
  if fmt not in FORMATS:
    raise ValueError(f'--format must be one of {", ".join(FORMATS)}, not {fmt!r}.')
  unknown = sorted(set(platforms) - set(PLATFORMS))
  if unknown:
    raise ValueError(f'Unknown platform(s) {", ".join(unknown)}: --platforms takes {", ".join(PLATFORMS)}.')
  out = os.path.abspath(out)
  if os.path.exists(out) and not overwrite:
    raise FileExistsError(f'{out} exists: give another --out, or --overwrite to replace it.')
  partial = out + '.partial'
  shutil.rmtree(partial, ignore_errors=True)
  (write_savedmodel if fmt == 'savedmodel' else write_stablehlo)(translator, partial, platforms)
  if os.path.exists(out):
    shutil.rmtree(out)
  os.replace(partial, out)
  return out


def folder_size(path: str) -> int:
  """Bytes of every file under path."""
  return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


# ------------------------------------------------------------------------------------------ command line


def quiet_tensorflow(record) -> bool:
  """absl handler filter: drops the INFO records of TensorFlow's Python code (its SavedModel writer logs a line per
  signature, variable shard and asset: not news to the user) and keeps every warning and error."""
  return record.levelno > logging.converter.STANDARD_INFO or '/tensorflow/' not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  from dss_jax import console, errors
  FLAGS = flags.FLAGS
  with errors.sentences_not_tracebacks():
    # Loading a checkpoint imports TensorFlow, whose start-up prints CUDA and CPU lines on a machine without a GPU
    # ("failed call to cuInit"): it is imported first, without them. A path that does not exist is told at once,
    # without that wait.
    if os.path.exists(FLAGS.workdir):
      console.import_tensorflow_quietly()
    try:
      translator = inference.Translator.from_checkpoint_flag(FLAGS.workdir, FLAGS.checkpoint)
    except (FileNotFoundError, ValueError) as e:  # No workdir, no checkpoint, another config's: their sentence.
      raise SystemExit(f'error: {e}') from None
    logging.info('Exporting step %s of %s as %s for %s (lowering three translations) ...', translator.step,
                 FLAGS.workdir, FLAGS.format, ', '.join(FLAGS.platforms))
    out = export(translator, FLAGS.out, FLAGS.format, FLAGS.platforms, FLAGS.overwrite)
  print(f'Wrote {out} ({folder_size(out) / 2**20:.1f} MiB): signatures {", ".join(SIGNATURES)} for any batch size; '
        f'domains {", ".join(translator.domains)}.')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The trained dss_jax workdir (or one of its checkpoints/<step> folders).')
  flags.DEFINE_string('checkpoint', None, "Step number, checkpoint folder or other workdir (default: the workdir's "
                      'latest checkpoint; EMA weights).')
  flags.DEFINE_string('out', None, 'The folder to write (the SavedModel, or the StableHLO files).')
  flags.DEFINE_enum('format', 'savedmodel', list(FORMATS), 'savedmodel (TensorFlow, via jax2tf) or stablehlo '
                    '(serialized jax.export).')
  flags.DEFINE_list('platforms', list(PLATFORMS), 'Platforms to lower for (cpu, cuda, tpu).')
  flags.DEFINE_bool('overwrite', False, 'Replace --out if it exists.')
  flags.mark_flags_as_required(['workdir', 'out'])
  from dss_jax import console
  console.setup_logging()
  logging.get_absl_handler().addFilter(quiet_tensorflow)
  app.run(main)
