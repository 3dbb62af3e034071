"""The oracle CNN: a briefly trained one reads domain (up to the Bayes ceiling), style and position."""

import numpy as np
import pytest

from dss_jax.datasets import synthetic
from dss_jax.metrics import identifiability as ident
from dss_jax.metrics import oracle as oracle_lib


@pytest.fixture(scope='module')
def trained():
  data = synthetic.load_split(n_style=2, split='train', per_domain=200)
  return oracle_lib.train_oracle(data['image'], data['label'], data['content'], data['style'], steps=300, seed=0,
                                 num_domains=5, batch_size=32, width=8)


@pytest.fixture(scope='module')
def test_data():
  return synthetic.load_split(n_style=2, split='test', per_domain=100)


@pytest.fixture(scope='module')
def readings(trained, test_data):
  return oracle_lib.oracle_predict(trained, test_data['image'], batch_size=250)


def test_oracle_reads_clean_images(readings, test_data):
  assert readings['content'].shape == (500, 5) and readings['style'].shape == (500, 2)
  # Style and position are read almost exactly; domain up to the Bayes ceiling (domains overlap in style).
  assert np.all(ident.content_preservation(test_data['style'], readings['style']) > 0.9)
  assert np.all(ident.content_preservation(test_data['content'][:, 1:3], readings['content'][:, 1:3]) > 0.9)
  ceiling = oracle_lib.bayes_domain_accuracy(test_data['style'], test_data['label'])
  assert 0.85 < ceiling < 0.95
  assert np.mean(readings['domain'] == test_data['label']) > ceiling - 0.08


def test_oracle_domain_accuracy_near_one_on_unambiguous_images(trained, test_data):
  """A perfect generator (render with styles where the domain is unambiguous) gets domain accuracy ~1."""
  k = 5
  loc, _ = synthetic.style_distribution(2)
  style = 1.0 / (1.0 + np.exp(-loc))  # The mode of each domain's logit-normal style (median).
  content = test_data['content'][:k * 20]
  labels = np.repeat(np.arange(k), 20)
  images = synthetic.render(content, style[labels])
  assert oracle_lib.bayes_domain_accuracy(style[labels], labels) == 1.0
  assert np.mean(oracle_lib.oracle_predict(trained, images)['domain'] == labels) > 0.95


def test_oracle_cache(tmp_path, trained, test_data, monkeypatch):
  path = tmp_path / 'o.msgpack'
  oracle_lib.save_oracle(trained, str(path))
  loaded = oracle_lib.load_oracle(str(path))
  a = oracle_lib.oracle_predict(trained, test_data['image'][:16])
  b = oracle_lib.oracle_predict(loaded, test_data['image'][:16])
  np.testing.assert_allclose(a['style'], b['style'], rtol=1e-6)
  calls = []
  monkeypatch.setattr(oracle_lib, 'train_oracle', lambda *args, **kw: calls.append(1) or trained)
  first = oracle_lib.get_oracle(str(tmp_path / 'cache'), per_domain=4, steps=1)
  second = oracle_lib.get_oracle(str(tmp_path / 'cache'), per_domain=4, steps=1)
  assert len(calls) == 1  # Trained once, then read from the cache.
  np.testing.assert_array_equal(first['meta']['style_mean'], second['meta']['style_mean'])
  oracle_lib.get_oracle(str(tmp_path / 'cache'), per_domain=4, steps=2)
  assert len(calls) == 2  # Another setting is another oracle.


def test_latent_guided_quality_of_a_perfect_generator(trained, test_data):
  """render(source content, a style drawn from p(s | u)) read by the oracle: near-perfect scores."""
  rng = np.random.default_rng(0)
  n = len(test_data['label'])
  target = rng.integers(0, 5, n)
  _, style = synthetic.sample_factors(rng, target, n_style=2)
  images = synthetic.render(test_data['content'], style)
  q = oracle_lib.latent_guided_quality(oracle_lib.oracle_predict(trained, images), target, test_data['content'],
                                       test_data['style'], test_data['label'])
  assert q['domain_accuracy'] > oracle_lib.bayes_domain_accuracy(style, target) - 0.1
  assert q['content_corr']['x'] > 0.9 and q['content_corr']['y'] > 0.9
  assert q['style_wasserstein_mean'] < 0.05
  # Ignoring the target style (always the source's own style) is caught by the Wasserstein distance.
  wrong = oracle_lib.latent_guided_quality(oracle_lib.oracle_predict(trained, test_data['image']), target,
                                           test_data['content'], test_data['style'], test_data['label'])
  assert wrong['style_wasserstein_mean'] > 2 * q['style_wasserstein_mean']
  assert wrong['domain_accuracy'] < 0.5
