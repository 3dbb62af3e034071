"""tools.export: each format reloaded in a fresh process that does not import dss_jax, against Translator.

The tiny model is the one test_inference.py trains once per session; the reloading processes get the inputs
from a .npz and write their outputs to another.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from test_inference import trained_workdir

from dss_jax import inference
from dss_jax.tools import export

# The target for float32, max |served - Translator| over every output value: the StableHLO files run
# on this jax's own compiler and meet it (0 measured on most outputs). TensorFlow compiles the SavedModel's
# module with its own XLA build, whose reductions are vectorised differently (a 32 x 32 mean differs by ~1e-7
# relative); through the network that sums to ~2e-5 of the output's scale on this 2-step model, whose unclipped
# outputs reach 8 (1.4e-4 absolute), and to 4.7e-6 absolute on a 500-step synthetic model (outputs within
# +-1.6; scripts/export_benchmark.py). Its bound is relative to the outputs' scale; a wrong weight, input
# order or signature gives errors of order 1 either way.
TOLERANCE = {'stablehlo': 1e-5, 'savedmodel': 1e-4}

# Run by the fresh process: the inputs of each signature (two batch sizes for 'latent': the batch axis is
# symbolic), its outputs, and proof that dss_jax never came in.
RELOAD_STABLEHLO = """
import sys, numpy as np, jax
d = np.load(sys.argv[2])
def call(name, *args):
  with open(f'{sys.argv[1]}/{name}.jax_exported', 'rb') as f:
    return np.asarray(jax.export.deserialize(f.read()).call(*args))
out = {'latent': call('latent', d['source'], d['domain'], d['z']),
       'latent_2': call('latent', d['source'][:2], d['domain'][:2], d['z'][:2]),
       'reference': call('reference', d['source'], d['domain'], d['reference']),
       'style': call('style', d['source'], d['style'])}
assert not any(m.startswith('dss_jax') for m in sys.modules), 'dss_jax was imported'
np.savez(sys.argv[3], **out)
"""
RELOAD_SAVEDMODEL = """
import sys, numpy as np, tensorflow as tf
d = np.load(sys.argv[2])
m = tf.saved_model.load(sys.argv[1])
sig = lambda name, **kw: m.signatures[name](**{k: tf.constant(v) for k, v in kw.items()})['image'].numpy()
out = {'latent': sig('latent', source=d['source'], domain=d['domain'], z=d['z']),
       'latent_2': sig('serving_default', source=d['source'][:2], domain=d['domain'][:2], z=d['z'][:2]),
       'reference': sig('reference', source=d['source'], domain=d['domain'], reference=d['reference']),
       'style': sig('style', source=d['source'], style=d['style'])}
assert not any(m.startswith('dss_jax') for m in sys.modules), 'dss_jax was imported'
np.savez(sys.argv[3], **out)
"""


@pytest.fixture(scope='module')
def translator():
  return inference.Translator.from_workdir(trained_workdir())


@pytest.fixture(scope='module')
def inputs_and_expected(translator):
  """Inputs of every signature (batch 3: not a chunk size of the Translator) and Translator's outputs."""
  from dss_jax.datasets import synthetic
  data = synthetic.load_split(2, 'style_domains', 'test', per_domain=4, size=32)
  x = np.asarray(data['image'])
  inputs = {'source': x[:3], 'domain': np.array([1, 3, 4], np.int32), 'reference': x[[5, 13, 17]],
            'z': translator.sample_z(3, seed=5), 'style': translator.sample_style(2, 3, seed=6)}
  expected = {'latent': translator.translate(inputs['source'], inputs['domain'], z=inputs['z']),
              'reference': translator.translate(inputs['source'], inputs['domain'], reference=inputs['reference']),
              'style': translator.generate(inputs['source'], inputs['style'])}
  expected['latent_2'] = expected['latent'][:2]
  return inputs, expected


def _reload_and_compare(script, artifact, inputs, expected, tmp_path, fmt):
  np.savez(tmp_path / 'inputs.npz', **inputs)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}  # Nothing of the repository on the path.
  proc = subprocess.run([sys.executable, '-c', textwrap.dedent(script), artifact, str(tmp_path / 'inputs.npz'),
                         str(tmp_path / 'outputs.npz')], cwd=tmp_path, env=env, capture_output=True, text=True,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  served = np.load(tmp_path / 'outputs.npz')
  errors = {name: float(np.abs(served[name] - expected[name]).max()) for name in expected}
  print(f'{fmt}: max |served - Translator| ' + ', '.join(f'{k} {v:.2e}' for k, v in errors.items()))
  for name in expected:
    assert served[name].shape == expected[name].shape, name
  scale = 1.0 if fmt == 'stablehlo' else max(1.0, max(float(np.abs(v).max()) for v in expected.values()))
  assert max(errors.values()) <= TOLERANCE[fmt] * scale, (errors, scale)


def test_stablehlo_reloads_without_dss_jax_and_matches_translator(translator, inputs_and_expected, tmp_path):
  inputs, expected = inputs_and_expected
  out = export.export(translator, str(tmp_path / 'hlo'), 'stablehlo', platforms=('cpu',))
  assert sorted(os.listdir(out)) == ['dss_jax.json', 'latent.jax_exported', 'reference.jax_exported',
                                     'style.jax_exported']
  meta = json.load(open(os.path.join(out, 'dss_jax.json')))
  assert meta['domains'] == translator.domains and meta['signatures']['latent'] == ['source', 'domain', 'z']
  _reload_and_compare(RELOAD_STABLEHLO, out, inputs, expected, tmp_path, 'stablehlo')


def test_savedmodel_reloads_without_dss_jax_and_matches_translator(translator, inputs_and_expected, tmp_path):
  inputs, expected = inputs_and_expected
  out = export.export(translator, str(tmp_path / 'sm'), 'savedmodel', platforms=('cpu',))
  meta = json.load(open(os.path.join(out, 'assets.extra', 'dss_jax.json')))
  assert meta['z_dim'] == translator.z_dim and meta['style_dim'] == translator.style_dim
  _reload_and_compare(RELOAD_SAVEDMODEL, out, inputs, expected, tmp_path, 'savedmodel')


def test_export_refuses_an_existing_folder_and_an_unknown_format(translator, tmp_path):
  (tmp_path / 'taken').mkdir()
  with pytest.raises(FileExistsError, match='--overwrite'):
    export.export(translator, str(tmp_path / 'taken'), 'stablehlo')
  with pytest.raises(ValueError, match='--format must be one of savedmodel, stablehlo'):
    export.export(translator, str(tmp_path / 'x'), 'onnx')
  with pytest.raises(ValueError, match='Unknown platform'):
    export.export(translator, str(tmp_path / 'x'), 'stablehlo', platforms=('cpu', 'metal'))
  assert os.listdir(tmp_path) == ['taken']


def test_export_command_line_says_one_sentence_for_a_missing_workdir(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'dss_jax.tools.export', f'--workdir={tmp_path / "none"}',
                         f'--out={tmp_path / "out"}'], capture_output=True, text=True, timeout=300)
  assert proc.returncode == 1
  assert 'Traceback' not in proc.stderr and "error: No config.json in" in proc.stderr


# What the exporter's console must not show: TensorFlow's start-up lines on a machine without CUDA (they come
# while loading the workdir imports it) and the INFO lines of its SavedModel writer.
CONSOLE_NOISE = ('cuInit', 'cudart_stub', 'oneDNN', 'absl::InitializeLog', 'signature_serialization',
                 'functional_saver', 'fingerprinting_utils', 'Assets written')


def test_export_command_line_console_holds_no_cuda_or_tensorflow_noise(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'dss_jax.tools.export', f'--workdir={trained_workdir()}',
                         f'--out={tmp_path / "sm"}', '--format=savedmodel', '--platforms=cpu'],
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'Exporting step 2 of' in proc.stderr and proc.stdout.startswith('Wrote ')
  noise = [line for line in proc.stderr.splitlines() if any(word in line for word in CONSOLE_NOISE)]
  assert not noise, noise
