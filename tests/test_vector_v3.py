"""Benchmark v3: its data, the recovery columns, the exact-likelihood estimator (the ceiling) and the protocol."""

import functools
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dss_jax.datasets import vector_v3
from dss_jax.metrics import recovery

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))


# ------------------------------------------------------------------------------------------ data

def test_unmix_inverts_the_mixing_and_the_settings_are_paired():
  main, iso, single = (vector_v3.make(s, seed=3) for s in vector_v3.SETTINGS)
  batch = main.sample(np.random.default_rng(0), 500)
  content, style = main.unmix(batch['x'])
  np.testing.assert_allclose(content, batch['content'], atol=1e-4)
  np.testing.assert_allclose(style, batch['style'], atol=1e-4)
  for other in (iso, single):  # One seed, one mixing: a control changes only the condition it tests.
    for (w1, b1), (w2, b2) in zip(main.weights, other.weights):
      np.testing.assert_array_equal(w1, w2)
      np.testing.assert_array_equal(b1, b2)
  np.testing.assert_array_equal(iso.loc, main.loc)
  assert np.all(iso.scale == vector_v3.ISO_SCALE) and main.scale.max() / main.scale.min() > 3
  assert single.num_domains == 1 and main.num_domains == vector_v3.NUM_DOMAINS >= 2 * vector_v3.N_STYLE + 1
  assert vector_v3.make('main', seed=4).weights[0][0][0, 0] != main.weights[0][0][0, 0]


def test_the_true_log_likelihood_is_the_change_of_variables():
  data = vector_v3.make('main', seed=1)
  batch = data.sample(np.random.default_rng(1), 6)
  eps = 1e-5
  for x, u in zip(batch['x'].astype(np.float64), batch['label']):
    jac = np.stack([(np.concatenate(data.unmix((x + eps * e)[None]), -1)
                     - np.concatenate(data.unmix((x - eps * e)[None]), -1))[0] / (2 * eps) for e in np.eye(len(x))], 1)
    c, s = data.unmix(x[None])
    expected = (-0.5 * c**2 - 0.5 * np.log(2 * np.pi)).sum() + data.log_prob(s, np.array([u]))[0] + np.linalg.slogdet(
        jac)[1]
    np.testing.assert_allclose(data.log_prob_x(x[None], np.array([u]))[0], expected, atol=1e-4)


def test_an_unknown_setting_is_one_sentence():
  with pytest.raises(ValueError, match='must be one of main, location_iso, single_domain'):
    vector_v3.make('scale_only')


# ------------------------------------------------------------------------------------------ recovery columns

def _factors(n=3, k=4, per=300, seed=0):
  rng = np.random.default_rng(seed)
  labels = np.repeat(np.arange(k), per)
  return rng.standard_normal((len(labels), n)) * rng.uniform(0.5, 2, (k, n))[labels], rng.standard_normal(
      (len(labels), 2)), labels


def test_component_wise_codes_score_one_and_no_rotation():
  style, content, labels = _factors()
  codes = np.stack([np.tanh(style[:, 2]), -style[:, 0] ** 3, np.exp(style[:, 1])], axis=1)  # Permuted, monotone.
  assert recovery.mcc_shared(style, codes, labels)['mcc'] > 0.999
  assert recovery.rotation_degrees(style, np.stack([style[:, 2], -style[:, 0], style[:, 1]], 1), labels) < 1.0
  r = recovery.recovery(style, content, style * 2 + 1, labels)
  assert r['r2_style'] > 0.999 and abs(r['r2_content']) < 0.1  # Held-out noise of 150 vectors.


def test_shared_matching_catches_a_permutation_that_changes_with_the_domain():
  style, _, labels = _factors()
  codes = style.copy()
  odd = labels % 2 == 1
  codes[odd] = style[odd][:, [1, 0, 2]]  # Domains 1 and 3 swap the first two components.
  per_domain = np.mean([recovery.identifiability.mcc(style[labels == u], codes[labels == u])['mcc'] for u in range(4)])
  assert per_domain > 0.999
  assert recovery.mcc_shared(style, codes, labels)['mcc'] < 0.75


def test_rotation_degrees_reads_a_turn_inside_the_plane():
  style, _, labels = _factors()
  standard = recovery._standardise(style, labels)
  t = np.radians(30)
  turn = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
  assert abs(recovery.rotation_degrees(style, standard @ turn, labels) - 30) < 1.0
  floor = recovery.rotated_style(style, labels, seed=5)
  assert recovery.mcc_shared(style, floor, labels)['mcc'] < 0.95
  assert recovery.r2_from_codes(style, floor, labels)['r2'] > 0.99  # The plane is all there.


def test_content_in_the_codes_shows_as_content_r2():
  style, content, labels = _factors()
  codes = np.concatenate([style[:, :2], content[:, :1]], axis=1)
  r = recovery.recovery(style, content, codes, labels)
  assert r['r2_content'] > 0.45 and r['r2_style'] < 0.7


# ------------------------------------------------------------------------------------------ the ceiling

@pytest.fixture(scope='module')
def tiny_fit():
  from dss_jax import ceiling
  data = vector_v3.make('main', seed=2, num_domains=3)  # Few domains: the evaluation's classifiers are per domain.
  return data, ceiling.fit(data, seed=2, steps=30, per_domain=200, num_blocks=1, hidden=16, num_bins=4)


def test_the_likelihood_model_is_invertible_with_the_right_log_det(tiny_fit):
  data, fitted = tiny_fit
  params = jax.tree_util.tree_map(lambda p: p + 0.05 * jnp.sin(jnp.arange(p.size).reshape(p.shape)), fitted.params)
  apply = functools.partial(fitted.module.apply, {'params': params})
  x = jnp.asarray(data.sample(np.random.default_rng(3), 5)['x'])
  latent, log_det = apply(x, method='encode')
  np.testing.assert_allclose(apply(latent, method='decode'), x, atol=2e-4)
  for i in range(3):
    jac = jax.jacfwd(lambda v: apply(v[None], method='encode')[0][0])(x[i])
    np.testing.assert_allclose(log_det[i], jnp.linalg.slogdet(jac)[1], atol=1e-3)
  s = apply(x, method='style')
  np.testing.assert_allclose(apply(x, s, method='generate'), x, atol=2e-4)  # Its own style changes nothing.


def test_the_fit_is_scored_by_the_vector_evaluation(tiny_fit):
  from dss_jax import ceiling
  from dss_jax.metrics import vector_eval
  data, fitted = tiny_fit
  assert np.isfinite(fitted.nll) and np.isfinite(fitted.true_nll)
  model = ceiling.vector_model(fitted)
  result = vector_eval.evaluate_vector(None, None, data, model=model, num_per_domain=20, seed=0)
  for key in ('mcc', 'latent_mcc', 'z_effect_min', 'edit_purity', 'edit_purity_random'):
    assert np.isfinite(result[key]), key
  # The style swap writes the new style exactly where the model's style is read back.
  x = data.sample(np.random.default_rng(4), 8)['x']
  s = model.style(data.sample(np.random.default_rng(5), 8)['x'], np.zeros(8, np.int32))
  np.testing.assert_allclose(model.style(model.generate(x, s), np.zeros(8, np.int32)), s, atol=1e-3)


# ------------------------------------------------------------------------------------------ protocol and tables

def test_the_protocol_refuses_trials_and_dev_seeds_on_test():
  import vector_benchmark_v3 as bench
  with pytest.raises(SystemExit, match='dev trials'):
    bench.check_split('test', list(bench.TEST_SEEDS), ['dss+f_lr=0.001'], frozen_dirty=False)
  with pytest.raises(SystemExit, match='not test seeds'):
    bench.check_split('test', [0], ['dss'], frozen_dirty=False)
  with pytest.raises(SystemExit, match='test seeds'):
    bench.check_split('dev', [bench.TEST_SEEDS[0]], ['dss'], frozen_dirty=False)
  with pytest.raises(SystemExit, match='uncommitted'):
    bench.check_split('test', list(bench.TEST_SEEDS), ['dss'], frozen_dirty=True)
  bench.check_split('dev', [0, 1], ['dss+f_lr=0.001'], frozen_dirty=False)
  assert bench.make_config('dss+f_lr=0.001+lambda_cyc=0.0').f_lr == 0.001


def _write(directory, row, seed, restart=None, **metrics):
  result = {'configuration': row, 'seed': seed, 'num_domains': 2, 'commit': 'x', 'dirty': False,
            **{k: metrics.get(k, 0.5) for k, _, _ in __import__('vector_benchmark_v3').COLUMNS}}
  result.update(metrics)
  if restart is not None:
    result['restart'] = restart
  name = row.replace(':', '_') + f'_seed{seed}' + ('' if restart is None else f'_r{restart}')
  with open(os.path.join(directory, name + '.json'), 'w') as f:
    json.dump(result, f)


def test_tables_pair_rows_with_the_baseline_and_report_the_ceiling_restarts(tmp_path):
  import vector_benchmark_v3 as bench
  d = tmp_path / 'test' / 'main'
  d.mkdir(parents=True)
  rng = np.random.default_rng(0)
  for seed in range(5):
    _write(d, 'stargan_v2', seed, mcc_shared=0.5 + 0.01 * rng.standard_normal())
    _write(d, 'dss', seed, mcc_shared=0.7 + 0.01 * rng.standard_normal())
    _write(d, 'trivial:rotated_style', seed, mcc_shared=0.6)
    codes = rng.standard_normal((4, 3))
    for r in range(2):  # Restart 1 fits better (lower nll) and scores 0.97: the best-by-likelihood row takes it.
      _write(d, 'ceiling', seed, r, mcc_shared=0.95 + 0.02 * r, rotation_deg=2.0 + r, nll_gap=0.1 - 0.05 * r,
             nll=1.0 - 0.5 * r, agreement_codes=(codes * (r + 1)).tolist())
  text = bench.table(str(tmp_path), 'main', 'test')
  assert '| **ceiling** (stale) | 5 |' in text and '| _trivial:rotated_style_ (stale) | 5 |' in text  # Commit 'x'.
  assert '**+0.2' in text  # dss - stargan_v2 on shared MCC, Holm-adjusted, in the better direction.
  assert 'agreement' in text and '| 0 | 0.950 / 0.970 | 2.0 / 3.0 | 1.000 |' in text
  assert '| **ceiling:best_nll** (stale) | 5 | 0.500 ± 0.000 | 0.970 ± 0.000 |' in text


def test_a_recipe_is_its_base_configuration_with_its_keys_and_is_paired_with_it(tmp_path):
  """configs/vector_v3.py RECIPES: `dss_keep_source` builds dss_uni_both's config with the recipe's keys (and
  later words still apply); the docs' recipe section pairs it with that base seed by seed."""
  import vector_benchmark_v3 as bench

  from configs import vector_v3 as cfg
  base, keys = cfg.RECIPES['dss_keep_source']
  assert cfg.get_config('dss_keep_source').to_dict() == cfg.get_config(f'{base},{keys}').to_dict()
  assert cfg.get_config('dss_keep_source,lambda_cyc=3').lambda_cyc == 3.0
  assert cfg.get_config('dss').to_dict() != cfg.get_config('dss_keep_source').to_dict()
  d = tmp_path / 'test' / 'main'
  d.mkdir(parents=True)
  for seed in range(4):
    _write(d, 'dss_uni_both', seed, mcc_shared=0.4, r2_content=0.5 + 0.01 * seed, content_r2=0.1, style_w1=2.0)
    _write(d, 'dss_keep_source', seed, mcc_shared=0.4, r2_content=0.2 - 0.01 * seed ** 2, content_r2=0.4,
           style_w1=1.0)
  text = bench.recipe_section(str(tmp_path))
  assert '| dss_keep_source - dss_uni_both | 4 |' in text
  assert '+0.000 [+0.000, +0.000] p=1 |' in text  # Equal MCC: no difference, not significant.
  assert '**-0.3' in text  # R2 content falls on every seed: significant in the better direction (lower).
  assert 'stargan_v2_keep_source' not in text.split('|---|')[-1]  # A recipe without runs has no row.


def test_the_probe_reads_a_bent_function_and_not_an_independent_variable():
  sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))
  import vector_v3_probe as probe
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2000, 2))
  bent = np.stack([np.sin(2 * x[:, 0]) * x[:, 1], x[:, 0] ** 3], axis=1)
  assert probe.knn_r2(x, bent) > 0.9  # Nonlinear, so a linear read would miss much of it.
  assert abs(probe.knn_r2(x, rng.standard_normal((2000, 2)))) < 0.1
