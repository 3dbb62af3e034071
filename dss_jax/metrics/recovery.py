"""What a style encoder recovered, beyond one MCC: the columns that tell identification from plane recovery.

From arrays only (numpy / scipy): true factors [N, n], codes [N, d], domain labels [N].

- `mcc_shared`: MCC with ONE permutation shared by every domain (the |Spearman| matrices of the domains are
  averaged, then matched once). Per-domain matching lets each domain pick its own permutation; a slider
  needs one component to mean one factor in every domain.
- `r2_from_codes`: held-out linear R^2, per domain, of true factors (style, or content for leak) from the
  codes: plane recovery (style R^2 high) versus content leak (content R^2 high).
- `rotation_degrees`: how far the codes' axes are turned from the true style axes inside the recovered plane:
  codes and factors standardised per domain, a pooled least-squares map factors -> codes, its orthogonal
  polar factor Q, the nearest signed permutation P; the largest principal angle of P^T Q. 0 for
  component-wise recovery; a randomly rotated style plane gives tens of degrees.
- `agreement`: `mcc_shared` between the codes of two fits (restarts, seeds) of the same data: near 1 when
  both recover the same components, lower where a symmetry lets them recover different rotations.
- `rotated_style`: the true style turned by a random rotation inside its plane (per-domain standardised):
  the floor that per-domain and shared MCC must clear to show component-wise identification.
"""

import numpy as np
import scipy.optimize
import scipy.stats

from dss_jax.metrics import identifiability


def _domains(labels):
  labels = np.asarray(labels)
  return [labels == u for u in np.unique(labels)]


def mcc_shared(true_factors, codes, labels) -> dict:
  """dict(mcc: mean over domains and factors with one shared matching, per_factor [n], pairs)."""
  masks = _domains(labels)
  corrs = np.stack([identifiability.spearman_matrix(np.asarray(true_factors)[m], np.asarray(codes)[m])
                    for m in masks])
  rows, cols = scipy.optimize.linear_sum_assignment(corrs.mean(0), maximize=True)
  per_factor = np.zeros(corrs.shape[1])
  per_factor[rows] = corrs.mean(0)[rows, cols]
  return {'mcc': float(per_factor.mean()), 'per_factor': per_factor.tolist(),
          'pairs': [(int(r), int(c)) for r, c in zip(rows, cols)]}


def _held_out_r2(inputs, targets):
  """Per target column: R^2 on the second half of a least-squares fit (with intercept) on the first half."""
  n = len(inputs) // 2
  a = np.concatenate([inputs, np.ones((len(inputs), 1))], axis=1)
  coef, *_ = np.linalg.lstsq(a[:n], targets[:n], rcond=None)
  resid = targets[n:] - a[n:] @ coef
  denom = np.maximum(np.sum((targets[n:] - targets[n:].mean(0))**2, axis=0), 1e-12)
  return 1.0 - np.sum(resid**2, axis=0) / denom


def r2_from_codes(targets, codes, labels) -> dict:
  """Linear held-out R^2 of each target column from the codes, within each domain, then averaged:
  dict(r2: mean over columns, per_factor [n])."""
  per = np.mean([_held_out_r2(np.asarray(codes, np.float64)[m], np.asarray(targets, np.float64)[m])
                 for m in _domains(labels)], axis=0)
  return {'r2': float(per.mean()), 'per_factor': per.tolist()}


def _standardise(a, labels):
  a = np.asarray(a, np.float64).copy()
  for m in _domains(labels):
    a[m] = (a[m] - a[m].mean(0)) / np.maximum(a[m].std(0), 1e-12)
  return a


def rotation_degrees(true_style, codes, labels) -> float:
  """The largest principal angle (degrees) between the codes' axes and the nearest signed permutation of the
  true style axes (module docstring). Needs codes with as many components as factors."""
  s, c = _standardise(true_style, labels), _standardise(codes, labels)
  if s.shape[1] != c.shape[1]:
    raise ValueError(f'rotation_degrees needs as many code components as factors ({c.shape[1]} != {s.shape[1]}).')
  a, *_ = np.linalg.lstsq(s, c, rcond=None)  # c ~ s a
  u, _, vt = np.linalg.svd(a)
  q = u @ vt  # Orthogonal polar factor.
  rows, cols = scipy.optimize.linear_sum_assignment(np.abs(q), maximize=True)
  p = np.zeros_like(q)
  p[rows, cols] = np.sign(q[rows, cols])
  r = p.T @ q
  angles = np.angle(np.linalg.eigvals(r))
  return float(np.degrees(np.max(np.abs(angles))))


def agreement(codes_a, codes_b, labels) -> float:
  """`mcc_shared` of one fit's codes against another's on the same inputs."""
  return mcc_shared(codes_a, codes_b, labels)['mcc']


def random_rotation(n: int, seed: int) -> np.ndarray:
  """A Haar-random n x n rotation (determinant +1), seeded."""
  q = scipy.stats.special_ortho_group.rvs(n, random_state=seed) if n > 1 else np.ones((1, 1))
  return np.asarray(q)


def rotated_style(true_style, labels, seed: int) -> np.ndarray:
  """The per-domain standardised true style turned by one random rotation (the rotated-plane floor)."""
  return _standardise(true_style, labels) @ random_rotation(np.asarray(true_style).shape[1], seed)


def recovery(true_style, true_content, codes, labels) -> dict:
  """The columns of one encoder: mcc_shared, r2_style, r2_content (leak), rotation_deg."""
  out = {'mcc_shared': mcc_shared(true_style, codes, labels)['mcc'],
         'r2_style': r2_from_codes(true_style, codes, labels)['r2'],
         'r2_content': r2_from_codes(true_content, codes, labels)['r2']}
  if np.asarray(codes).shape[1] == np.asarray(true_style).shape[1]:
    out['rotation_deg'] = rotation_degrees(true_style, codes, labels)
  return out
