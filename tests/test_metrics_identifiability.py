"""Identifiability benchmark metrics on cases with known answers (perfect, shuffled, trivial models)."""

import numpy as np
import pytest

from dss_jax.datasets import synthetic
from dss_jax.metrics import identifiability as ident


@pytest.fixture(scope='module')
def factors():
  rng = np.random.default_rng(0)
  return rng.uniform(size=(2000, 3))


def _monotone_permuted(x):
  """A permuted, component-wise monotonically transformed copy: what identifiability allows."""
  return np.stack([np.exp(3 * x[:, 2]), -x[:, 0] ** 3, np.log(x[:, 1] + 0.01)], axis=1)


def test_mcc_perfect_and_monotone(factors):
  assert ident.mcc(factors, factors)['mcc'] == pytest.approx(1.0)
  out = ident.mcc(factors, _monotone_permuted(factors))
  assert out['mcc'] == pytest.approx(1.0)
  assert sorted(out['pairs']) == [(0, 1), (1, 2), (2, 0)]
  # Extra components do not hurt a perfect code; too few count the unmatched factors as 0.
  rng = np.random.default_rng(1)
  assert ident.mcc(factors, np.concatenate([rng.normal(size=(2000, 13)), factors], 1))['mcc'] == pytest.approx(1.0)
  assert ident.mcc(factors, factors[:, :2])['mcc'] == pytest.approx(2 / 3)


def test_mcc_shuffled_is_near_zero(factors):
  rng = np.random.default_rng(2)
  shuffled = factors[rng.permutation(len(factors))]  # Codes of other images: no information.
  assert ident.mcc(factors, shuffled)['mcc'] < 0.1
  assert ident.mcc(factors, rng.normal(size=(2000, 16)))['mcc'] < 0.1


def test_mcc_constant_code_is_zero(factors):
  codes = np.concatenate([np.zeros((2000, 1)), factors[:, :2]], 1)
  out = ident.mcc(factors[:, :1], codes[:, :1])
  assert out['mcc'] == 0.0


def test_mcc_per_domain():
  data = synthetic.load_split(n_style=2, split='test', per_domain=100)
  out = ident.mcc_per_domain(data['style'], data['style'][:, ::-1] * 2 + 1, data['label'])
  assert set(out['per_domain']) == set(range(5))
  assert out['mean'] == pytest.approx(1.0)


def test_dci_component_wise_vs_entangled(factors):
  x = factors[:1000, :2]
  good = ident.dci(x, _monotone_permuted(np.concatenate([x, factors[:1000, 2:]], 1))[:, [1, 2]])
  assert good['disentanglement'] > 0.9 and good['completeness'] > 0.9 and good['informativeness'] > 0.95
  rot = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
  bad = ident.dci(x, x @ rot)
  assert bad['disentanglement'] < 0.5 and bad['completeness'] < 0.5
  assert bad['informativeness'] > 0.8  # Entangled but still informative.
  lasso = ident.dci(x, x[:, ::-1], regressor='lasso')
  assert lasso['disentanglement'] > 0.9 and lasso['informativeness'] > 0.95
  noise = ident.dci(x, np.random.default_rng(0).normal(size=(1000, 2)))
  assert noise['informativeness'] < 0.1


def test_dci_from_importance_closed_forms():
  assert ident.dci_from_importance(np.eye(3))['disentanglement'] == pytest.approx(1.0)
  assert ident.dci_from_importance(np.eye(3))['completeness'] == pytest.approx(1.0)
  uniform = ident.dci_from_importance(np.ones((4, 2)))
  assert uniform['disentanglement'] == pytest.approx(0.0, abs=1e-9)
  assert uniform['completeness'] == pytest.approx(0.0, abs=1e-9)
  # Two informative codes + two dead ones: still disentangled; each factor in one code: complete.
  r = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
  out = ident.dci_from_importance(r)
  assert out['disentanglement'] == pytest.approx(1.0) and out['completeness'] == pytest.approx(1.0)


@pytest.fixture(scope='module')
def pairs():
  """Source / reference pairs from different domains, their ground truth and masks."""
  data = synthetic.load_split(n_style=2, split='test', per_domain=60)
  rng = np.random.default_rng(0)
  src = rng.permutation(len(data['label']))
  ref = rng.permutation(len(data['label']))
  keep = data['label'][src] != data['label'][ref]
  src, ref = src[keep], ref[keep]
  truth, true_mask = synthetic.render(data['content'][src], data['style'][ref], return_mask=True)
  return {'source': data['image'][src], 'reference': data['image'][ref], 'truth': truth, 'true_mask': true_mask,
          'content': data['content'][src], 'style': data['style'][ref]}


def test_counterfactual_perfect_generator(pairs):
  # The perfect generator renders the source's content with the reference's style.
  gen, gen_mask = synthetic.render(pairs['content'], pairs['style'], return_mask=True)
  out = ident.counterfactual_error(gen, pairs['truth'], gen_mask, pairs['true_mask'])
  assert out['l1'] == 0.0 and out['l1_object'] == 0.0 and out['iou'] == 1.0
  assert out['psnr'] == ident.PSNR_MAX and out['psnr_object'] == ident.PSNR_MAX
  est = ident.counterfactual_error(gen, pairs['truth'], ident.estimate_object_mask(gen),
                                   ident.estimate_object_mask(pairs['truth']))
  assert est['iou'] == 1.0


def test_estimate_object_mask(pairs):
  est = ident.estimate_object_mask(pairs['truth'])
  truth = pairs['true_mask'] > 0.5
  iou = ((est > 0.5) & truth).sum((1, 2)) / ((est > 0.5) | truth).sum((1, 2))
  assert iou.mean() > 0.8
  np.testing.assert_allclose(ident.border_colour(pairs['truth']), pairs['truth'][:, 0, 0], atol=1e-6)


def test_trivial_baselines(pairs):
  out = ident.trivial_baselines(pairs['source'], pairs['reference'], pairs['truth'], pairs['true_mask'])
  src, ref, flat = out['copy_source'], out['copy_reference'], out['flat_reference_background']
  # The background dominates the whole image: the flat background beats copying, copying the source is worst.
  assert flat['l1'] < ref['l1'] < src['l1']
  assert flat['iou'] == 0.0 and 0.0 < ref['iou'] < 1.0
  # The object region is where they all fail.
  for v in out.values():
    assert v['l1_object'] > 0.2 and v['psnr_object'] < 20
  # The background colour matches exactly: outside the object the flat answer is perfect.
  assert flat['l1'] < 0.2 * flat['l1_object']


def test_counterfactual_hand_computed():
  gen = np.zeros((1, 2, 2, 3))
  truth = np.zeros((1, 2, 2, 3))
  truth[0, 0, 0] = 1.0  # One pixel off by 1 in every channel.
  gm, tm = np.zeros((1, 2, 2)), np.zeros((1, 2, 2))
  gm[0, 0, 0] = tm[0, 0, 0] = tm[0, 0, 1] = 1
  out = ident.counterfactual_error(gen, truth, gm, tm)
  assert out['l1'] == pytest.approx(0.25) and out['l1_object'] == pytest.approx(0.5)
  assert out['iou'] == pytest.approx(0.5)
  assert out['psnr'] == pytest.approx(10 * np.log10(4 / 0.25))
  assert out['psnr_object'] == pytest.approx(10 * np.log10(4 / 0.5))


def test_unification_gap_identical_and_different():
  rng = np.random.default_rng(0)
  labels = np.repeat(np.arange(3), 500)
  means = np.array([[0.0] * 4, [1.0] * 4, [-2.0, 0.0, 1.0, 3.0]])
  latent = means[labels] + rng.normal(size=(1500, 4))
  same = means[labels] + rng.normal(size=(1500, 4))
  out = ident.unification_gap(latent, same, labels)
  assert out['frechet_mean'] < 0.1
  assert abs(out['accuracy_mean'] - 0.5) < 0.05
  shifted = same + np.array([2.0, 0.0, 0.0, 0.0])
  out = ident.unification_gap(latent, shifted, labels)
  assert out['frechet_mean'] == pytest.approx(4.0, rel=0.1)
  assert out['frechet_relative_mean'] == pytest.approx(1.0, rel=0.1)  # 4 over a total variance of 4.
  assert out['accuracy_mean'] > 0.8
  # A common rescaling of both code sets: the Fréchet distance scales by its square, the relative one stays.
  small = ident.unification_gap(0.1 * latent, 0.1 * shifted, labels)
  assert small['frechet_mean'] == pytest.approx(0.01 * out['frechet_mean'], rel=1e-6)
  assert small['frechet_relative_mean'] == pytest.approx(out['frechet_relative_mean'], rel=1e-6)
  # Same mean, different spread: Fréchet sees it; a linear classifier cannot, the MLP can.
  wide = means[labels] + 3.0 * rng.normal(size=(1500, 4))
  assert ident.unification_gap(latent, wide, labels)['frechet_mean'] > 10
  assert ident.two_sample_accuracy(latent, wide, classifier='mlp') > 0.75


def test_smoothness():
  rng = np.random.default_rng(0)
  codes = rng.normal(size=(500, 8))
  assert ident.smoothness(codes, codes) == 0.0
  assert ident.smoothness(codes, codes[rng.permutation(500)]) == pytest.approx(1.0, abs=0.05)
  small = codes + 0.01 * rng.normal(size=codes.shape)
  assert ident.smoothness(codes, small) == pytest.approx(ident.smoothness(10 * codes, 10 * small))
  assert ident.smoothness(codes, small) < 0.02


def test_style_wasserstein_and_content_preservation():
  rng = np.random.default_rng(0)
  s = rng.uniform(size=(1000, 2))
  assert ident.style_wasserstein(s, s)['mean'] == 0.0
  out = ident.style_wasserstein(s + np.array([0.1, 0.0]), s)
  np.testing.assert_allclose(out['per_factor'], [0.1, 0.0], atol=1e-12)
  np.testing.assert_allclose(ident.content_preservation(s, 2 * s + 1), [1.0, 1.0])
  assert np.all(np.abs(ident.content_preservation(s, s[rng.permutation(1000)])) < 0.1)


def test_counterfactual_with_baselines(pairs):
  gen = synthetic.render(pairs['content'], pairs['style'])
  out = ident.counterfactual_with_baselines(gen, pairs['source'], pairs['reference'], pairs['truth'],
                                            pairs['true_mask'])
  assert set(out) == {'model', 'copy_source', 'copy_reference', 'flat_reference_background'}
  assert out['model']['l1'] == 0.0 and out['model']['iou'] > 0.8  # Estimated vs rendered mask.
