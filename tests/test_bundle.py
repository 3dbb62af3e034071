"""Model bundles (dss_jax/bundle.py) and the model shipped with the package."""

import json
import os

import numpy as np
import pytest
from test_inference import trained_workdir

from dss_jax import bundle, inference


def test_a_bundle_translates_exactly_as_its_workdir(tmp_path):
  t = inference.Translator.from_workdir(trained_workdir())
  path = bundle.write(str(tmp_path / 'b'), t, {'command': 'test', 'commit': 'abc'})
  assert sorted(os.listdir(path)) == sorted(bundle.FILES) and not os.path.exists(path + '.tmp')
  back = bundle.load(path)
  x = np.random.default_rng(0).uniform(-1, 1, (2, *t.nets.x_shape)).astype(np.float32)
  z = t.sample_z(2, seed=3)
  np.testing.assert_array_equal(back.translate(x, 1, z=z), t.translate(x, 1, z=z))
  assert back.domains == t.domains and back.step == t.step
  assert bundle.info(path)['command'] == 'test'


def test_a_folder_that_is_not_a_bundle_gets_one_sentence(tmp_path):
  (tmp_path / 'config.json').write_text('{}')
  with pytest.raises(FileNotFoundError, match='not a dss_jax model bundle: it lacks ema.msgpack, model.json'):
    bundle.load(str(tmp_path))


@pytest.mark.skipif(not os.path.exists(os.path.join(bundle.SHIPPED, 'model.json')),
                    reason='the shipped model is not in this checkout (scripts/make_shipped_model.py writes it)')
def test_the_shipped_model_is_readmes_main_job_with_its_provenance():
  meta = bundle.info()
  for key in ('command', 'commit', 'dirty', 'steps', 'train_minutes', 'measured', 'sliders', 'domains'):
    assert key in meta, key
  with open(os.path.join(bundle.SHIPPED, 'config.json')) as f:
    config = json.load(f)
  assert config['dataset'] == 'synthetic' and meta['steps'] == config['total_iters']
  assert len(meta['sliders']) == config['style_dim']
  size = sum(os.path.getsize(os.path.join(bundle.SHIPPED, n)) for n in bundle.FILES)
  assert size < 5e6, f'{size / 1e6:.1f} MB: the shipped model should stay a few MB'
  t = bundle.load()
  assert t.step == meta['steps'] and t.is_flow == (config['mapping'] == 'flow')
