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


if __name__ == '__main__':
  pytest.main([__file__])
