"""Exports a trained workdir in both formats and prints what a server would care about: the time to export,
the size on disk, the largest difference from `inference.Translator` on the same inputs, and one batch's
latency beside the Translator's.

  python scripts/export_benchmark.py --workdir=runs/demo --batch=8

Latencies are the median of --repeats calls after one warm-up call (which compiles), on whatever this
machine is doing at the time: the figures are this machine's, not a property of the model.
"""

import os
import statistics
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dss_jax import console, inference  # noqa: E402
from dss_jax.tools import export  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A trained dss_jax workdir.')
flags.DEFINE_integer('batch', 8, 'Batch size of the timed calls.')
flags.DEFINE_integer('repeats', 10, 'Timed calls per path (after one warm-up call).')
flags.DEFINE_string('out', None, 'Where to write the exports (default: a temporary folder).')
flags.mark_flags_as_required(['workdir'])


def _median_seconds(fn, repeats):
  fn()  # Compiles (or loads) once.
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main(argv):
  del argv
  console.import_tensorflow_quietly()
  import jax
  import tensorflow as tf

  from dss_jax.sample import _val_split
  translator = inference.Translator.from_workdir(FLAGS.workdir)
  out_root = FLAGS.out or tempfile.mkdtemp(prefix='dss_export_')
  x, _ = _val_split(translator.config, per_domain=max(2, FLAGS.batch // translator.config.num_domains + 1))
  b = FLAGS.batch
  source, reference = x[:b], x[::-1][:b]
  domain = (np.arange(b) % translator.config.num_domains).astype(np.int32)
  z, style = translator.sample_z(b, seed=1), translator.sample_style(0, b, seed=2)
  expected = {'latent': translator.translate(source, domain, z=z),
              'reference': translator.translate(source, domain, reference=reference),
              'style': translator.generate(source, style)}
  args = {'latent': (source, domain, z), 'reference': (source, domain, reference), 'style': (source, style)}
  print(f'workdir {FLAGS.workdir} (step {translator.step}, {translator.config.mapping} mapping, '
        f'{translator.config.img_size} px), batch {b}, jax {jax.__version__}, tensorflow {tf.__version__}, '
        f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}')

  paths, seconds = {}, {}
  for fmt in export.FORMATS:
    start = time.perf_counter()
    paths[fmt] = export.export(translator, os.path.join(out_root, fmt), fmt, overwrite=True)
    seconds[fmt] = time.perf_counter() - start

  saved = tf.saved_model.load(paths['savedmodel'])
  names = {'latent': ('source', 'domain', 'z'), 'reference': ('source', 'domain', 'reference'),
           'style': ('source', 'style')}

  def savedmodel_call(name):
    feed = {k: tf.constant(v) for k, v in zip(names[name], args[name])}
    return lambda: saved.signatures[name](**feed)['image'].numpy()

  def stablehlo_call(name):
    with open(os.path.join(paths['stablehlo'], f'{name}.jax_exported'), 'rb') as f:
      call = jax.jit(jax.export.deserialize(f.read()).call)  # jit: compiled once, not at every call.
    return lambda: np.asarray(call(*args[name]))

  calls = {'savedmodel': savedmodel_call, 'stablehlo': stablehlo_call}
  print('\n| format | export s | size MiB | max abs error latent / reference / style | latent batch ms |')
  print('|---|---|---|---|---|')
  for fmt in export.FORMATS:
    errors = [float(np.abs(calls[fmt](n)() - expected[n]).max()) for n in export.SIGNATURES]
    ms = 1000 * _median_seconds(calls[fmt]('latent'), FLAGS.repeats)
    print(f'| {fmt} | {seconds[fmt]:.1f} | {export.folder_size(paths[fmt]) / 2**20:.2f} | '
          f'{" / ".join(f"{e:.1e}" for e in errors)} | {ms:.1f} |')
  ms = 1000 * _median_seconds(lambda: translator.translate(source, domain, z=z), FLAGS.repeats)
  print(f'| Translator (in process) | - | - | 0 | {ms:.1f} |')
  print(f'\nOutput range of the Translator: max |output| {max(np.abs(v).max() for v in expected.values()):.2f}. '
        f'Exports in {out_root}.')


if __name__ == '__main__':
  app.run(main)
