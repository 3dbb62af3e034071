"""scripts/image_recovery.py on the tests' 2-step synthetic run: every figure present and in range."""

import os
import sys

import numpy as np
import pytest
from test_inference import trained_workdir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))


def test_numeric_content_and_shape_accuracy_read_what_they_should():
  import image_recovery
  content = np.array([[1, 0.2, 0.3, 0.4, 0.25], [0, 0.5, 0.5, 0.5, 0.0]])
  np.testing.assert_allclose(image_recovery.numeric_content(content)[0], [0.2, 0.3, 0.4, 0.0, 1.0], atol=1e-12)
  labels = np.zeros(40, int)
  shapes = np.tile([0, 1], 20)
  codes = np.stack([shapes * 2.0 + 0.01 * np.arange(40), np.zeros(40)], 1)
  assert image_recovery.shape_accuracy(codes, shapes, labels) == 1.0


def test_image_recovery_on_a_trained_run(tmp_path):
  import image_recovery

  from dss_jax import inference
  from dss_jax.datasets import registry
  from dss_jax.metrics import oracle
  t = inference.Translator.from_workdir(trained_workdir())
  orc = oracle.get_oracle(str(tmp_path), t.config.synthetic.n_style, 'style_domains', t.config.img_size,
                          per_domain=20, steps=20)
  result = image_recovery.image_recovery(t, orc, registry.arrays(t.config, 'test'), per_domain=2)
  assert result['r2_style'] <= 1.0 and len(result['r2_content_factor']) == 5  # Held out on 4 images a domain.
  assert 0.0 <= result['shape_from_codes'] <= 1.0 and 0.0 <= result['mcc_shared'] <= 1.0
  sliders = result['sliders']
  assert {(r['component'], r['range']) for r in sliders} == {(c, g) for c in range(t.style_dim)
                                                             for g in ('inner', 'outer')}
  n = t.config.synthetic.n_style
  for row in sliders:
    assert 1.0 / n - 1e-9 <= row['share'] <= 1.0 + 1e-9 and 0 <= row['factor'] < n, row
  text = image_recovery.table('run', result, ('hue', 'background', 'stripes'))
  assert text.count('| inner |') == t.style_dim
  _recorded_runs_make_the_tables(image_recovery, t, result, tmp_path)


def _recorded_runs_make_the_tables(image_recovery, t, result, tmp_path):
  """--record keeps the figures with the run's commit and an untrained encoder's floor; --table pairs the main
  job with :stargan_v2 by seed (here the same run recorded under both names, so every difference is 0)."""
  import json

  from dss_jax.datasets import registry
  image_recovery.RECORDS = str(tmp_path / 'recovery')
  data = registry.arrays(t.config, 'test')
  for config_name in ('main', 'stargan_v2'):
    for seed in (1, 2):
      name = f'{config_name}_sd2_seed{seed}'
      (tmp_path / f'{name}.json').write_text(json.dumps(
          {'configuration': config_name, 'seed': seed, 'steps': 2, 'commit': 'abcdef0123', 'dirty': False}))
      path = image_recovery.record(str(tmp_path / name), result, str(tmp_path), t.config, data)
  with open(path) as f:
    kept = json.load(f)
  assert kept['commit'] == 'abcdef0123' and 0.0 <= kept['untrained']['mcc_shared'] <= 1.0
  records = image_recovery.load_records(image_recovery.RECORDS)
  text = image_recovery.recovery_tables(records, ('hue', 'background'))
  assert text.count('| main_sd2_seed') == 2 and '| 1, 2 |' in text and '2 seeds: 1, 2' in text
  assert '+0.00 [+0.00, +0.00]' in text
  page = '# Results\n\n## Other\n\ntext\n'
  once = image_recovery.splice(page, text)
  assert image_recovery.splice(once, text) == once and once.startswith(page.rstrip('\n'))
  with pytest.raises(SystemExit, match='missing'):
    image_recovery.record(str(tmp_path / 'other_sd2_seed3'), result, str(tmp_path), t.config, data)


if __name__ == '__main__':
  pytest.main([__file__])
