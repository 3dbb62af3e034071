"""The identifiability benchmark's metrics (numpy / scipy / scikit-learn only; no JAX, no TensorFlow).

What DSS claims (docs METHOD.md, "The theory"): on data with known style factors, the learned style
components match the true ones one-to-one up to component-wise invertible maps. These functions measure
that, and the side claims (unified latent/reference code spaces, a smooth encoder), from arrays:

- `mcc`, `mcc_per_domain`: best-matched mean absolute Spearman correlation (invariant to monotone maps).
- `dci`: Eastwood & Williams (2018) disentanglement / completeness / informativeness.
- `counterfactual_error`, `trivial_baselines`, `estimate_object_mask`: reference-guided output against
  the rendered ground truth, whole image and object region, beside the trivial answers.
- `unification_gap`: latent-based vs reference-based codes per domain (Fréchet distance, two-sample test).
- `smoothness`: code change under style-preserving augmentation relative to the code spread.
- `style_wasserstein`: per-factor 1-D Wasserstein distance between generated and true style samples.
- `content_preservation`: per-factor correlation of source and output content (as read by the oracle).

Images are [N, H, W, 3] in [-1, 1]; masks [N, H, W] in [0, 1]; factors and codes [N, n] / [N, d].
"""

import numpy as np
import scipy.optimize
import scipy.spatial
import scipy.stats
from sklearn import ensemble, linear_model, model_selection, neural_network, preprocessing

from dss_jax.metrics.fid import frechet_distance, gaussian_stats

PSNR_MAX = 100.0  # dB; PSNR of a perfect answer (MSE 0) is reported as this instead of inf (JSON-safe).


# ------------------------------------------------------------------------------------------ MCC


def spearman_matrix(x, y):
  """|Spearman rho| between every column of x [N, n] and of y [N, d] -> [n, d]; constant columns give 0."""
  rx = scipy.stats.rankdata(np.asarray(x, np.float64), axis=0)
  ry = scipy.stats.rankdata(np.asarray(y, np.float64), axis=0)
  rx, ry = rx - rx.mean(0), ry - ry.mean(0)
  nx, ny = np.linalg.norm(rx, axis=0), np.linalg.norm(ry, axis=0)
  with np.errstate(invalid='ignore', divide='ignore'):
    corr = (rx.T @ ry) / np.outer(nx, ny)
  return np.abs(np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0))


def mcc(true_factors, codes):
  """Mean correlation coefficient: best one-to-one matching of factors to code components.

  true_factors: [N, n]; codes: [N, d]. |Spearman| matrix (n x d), matched with
  `scipy.optimize.linear_sum_assignment` (maximising the total). With d >= n each factor gets its own
  component; with d < n, unmatched factors count as 0. Returns dict(mcc: mean over factors,
  per_factor: [n], pairs: [(factor, component)], corr: [n, d]).
  """
  corr = spearman_matrix(true_factors, codes)
  rows, cols = scipy.optimize.linear_sum_assignment(corr, maximize=True)
  per_factor = np.zeros(corr.shape[0])
  per_factor[rows] = corr[rows, cols]
  return {'mcc': float(per_factor.mean()), 'per_factor': per_factor,
          'pairs': [(int(r), int(c)) for r, c in zip(rows, cols)], 'corr': corr}


def mcc_per_domain(true_factors, codes, labels):
  """`mcc` within each domain (codes of E(x, u) for images x of domain u); dict(per_domain, mean)."""
  labels = np.asarray(labels)
  per = {int(u): mcc(np.asarray(true_factors)[labels == u], np.asarray(codes)[labels == u])['mcc']
         for u in np.unique(labels)}
  return {'per_domain': per, 'mean': float(np.mean(list(per.values())))}


# ------------------------------------------------------------------------------------------ DCI


def _entropy(p, base, axis):
  p = np.clip(p, 1e-12, 1.0)
  return -np.sum(p * np.log(p), axis=axis) / np.log(base)


def dci_from_importance(importance):
  """Disentanglement and completeness from an importance matrix R [d codes, n factors] (Eastwood & Williams).

  Disentanglement: per code i, 1 - entropy (base n) of R[i] / sum R[i], weighted by the code's share
  of the total importance. Completeness: per factor j, 1 - entropy (base d) of R[:, j] / sum R[:, j],
  weighted by the factor's share (as disentanglement_lib). With n = 1 (or d = 1) the entropy base is 1
  and the corresponding score is defined as 1.
  """
  r = np.abs(np.asarray(importance, np.float64))
  d, n = r.shape
  if r.sum() == 0:
    r = np.ones_like(r)
  row, col = r.sum(1), r.sum(0)
  with np.errstate(invalid='ignore', divide='ignore'):
    per_code = 1.0 - _entropy(r / np.maximum(row[:, None], 1e-12), n, 1) if n > 1 else np.ones(d)
    per_factor = 1.0 - _entropy(r / np.maximum(col[None, :], 1e-12), d, 0) if d > 1 else np.ones(n)
  per_code = np.where(row > 0, per_code, 0.0)
  return {'disentanglement': float(np.sum(per_code * row / r.sum())),
          'completeness': float(np.sum(per_factor * col / r.sum())),
          'disentanglement_per_code': per_code, 'completeness_per_factor': per_factor}


def dci(true_factors, codes, regressor='gbt', test_fraction=0.3, seed=0, n_estimators=50, lasso_alpha=0.02):
  """DCI (Eastwood & Williams 2018) of codes [N, d] against true factors [N, n].

  One regressor per factor predicts it from the (standardised) codes on a training split:
  'gbt' = sklearn GradientBoostingRegressor (importance = feature_importances_), 'lasso' = Lasso on
  standardised targets (importance = |coef|). Informativeness is the mean held-out R^2 (1 = perfect,
  0 = predicting the mean); the held-out NRMSE (RMSE / std of the factor) is reported beside it.
  Returns dict(disentanglement, completeness, informativeness, nrmse, r2_per_factor, importance [d, n], ...).
  """
  x = preprocessing.StandardScaler().fit_transform(np.asarray(codes, np.float64))
  y = preprocessing.StandardScaler().fit_transform(np.asarray(true_factors, np.float64))
  x_tr, x_te, y_tr, y_te = model_selection.train_test_split(x, y, test_size=test_fraction, random_state=seed)
  importance = np.zeros((x.shape[1], y.shape[1]))
  r2, nrmse = np.zeros(y.shape[1]), np.zeros(y.shape[1])
  for j in range(y.shape[1]):
    if regressor == 'gbt':
      model = ensemble.GradientBoostingRegressor(n_estimators=n_estimators, max_depth=3, random_state=seed)
      model.fit(x_tr, y_tr[:, j])
      importance[:, j] = model.feature_importances_
    elif regressor == 'lasso':
      model = linear_model.Lasso(alpha=lasso_alpha, random_state=seed)
      model.fit(x_tr, y_tr[:, j])
      importance[:, j] = np.abs(model.coef_)
    else:
      raise ValueError(f"regressor must be 'gbt' or 'lasso', not {regressor!r}.")
    pred = model.predict(x_te)
    mse = np.mean((pred - y_te[:, j]) ** 2)
    var = np.var(y_te[:, j])
    r2[j] = 1.0 - mse / var if var > 0 else 0.0
    nrmse[j] = np.sqrt(mse / var) if var > 0 else 0.0
  out = dci_from_importance(importance)
  out.update(informativeness=float(np.mean(r2)), nrmse=float(np.mean(nrmse)), r2_per_factor=r2,
             importance=importance, regressor=regressor)
  return out


# ------------------------------------------------------------------------------------------ counterfactual


def border_colour(images):
  """Background colour of each image: the per-channel median of its 1-pixel border. [N, H, W, 3] -> [N, 3]."""
  x = np.asarray(images, np.float64)
  border = np.concatenate([x[:, 0], x[:, -1], x[:, 1:-1, 0], x[:, 1:-1, -1]], axis=1)
  return np.median(border, axis=1)


def estimate_object_mask(images, background=None, threshold=0.15):
  """Object mask of images on a flat background: Euclidean RGB distance from the background > threshold.

  images: [N, H, W, 3] in [-1, 1]; background: [N, 3] (default: `border_colour`, the median of the
  border pixels, which is background as long as the object covers less than half the border).
  threshold is in [-1, 1] units (RGB distance; 0.15 ~ 5 % of the range in each channel). Returns a
  binary float mask [N, H, W]. Used on generated images, whose masks are not known.
  """
  x = np.asarray(images, np.float64)
  bg = border_colour(x) if background is None else np.asarray(background, np.float64)
  dist = np.linalg.norm(x - bg[:, None, None, :], axis=-1)
  return (dist > threshold).astype(np.float32)


def _psnr(mse):
  # Images in [-1, 1]: data range 2, peak^2 = 4.
  with np.errstate(divide='ignore'):
    return np.minimum(10.0 * np.log10(4.0 / np.maximum(mse, 0.0)), PSNR_MAX)


def counterfactual_error(generated, truth, gen_mask, true_mask):
  """Generated counterfactual vs rendered ground truth (render(content_src, style_ref)).

  generated, truth: [N, H, W, 3] in [-1, 1]; gen_mask, true_mask: [N, H, W] (binarised at 0.5).
  Per image, then averaged: L1 (mean |diff|) and PSNR (dB, peak-to-peak 2, capped at PSNR_MAX) over the
  whole image and over the object region = union of the two masks (images with an empty region are
  left out of the region means); IoU of the two masks (1 when both are empty).
  Returns dict(l1, psnr, l1_object, psnr_object, iou).
  """
  g, t = np.asarray(generated, np.float64), np.asarray(truth, np.float64)
  gm, tm = np.asarray(gen_mask) > 0.5, np.asarray(true_mask) > 0.5
  absdiff = np.abs(g - t).mean(-1)  # [N, H, W]
  sqdiff = ((g - t) ** 2).mean(-1)
  region = gm | tm
  count = region.sum((1, 2))
  has = count > 0
  with np.errstate(invalid='ignore', divide='ignore'):
    l1_obj = (absdiff * region).sum((1, 2)) / count
    mse_obj = (sqdiff * region).sum((1, 2)) / count
    iou = np.where(has, (gm & tm).sum((1, 2)) / count, 1.0)
  return {'l1': float(absdiff.mean()), 'psnr': float(_psnr(sqdiff.mean((1, 2))).mean()),
          'l1_object': float(l1_obj[has].mean()) if has.any() else 0.0,
          'psnr_object': float(_psnr(mse_obj[has]).mean()) if has.any() else PSNR_MAX,
          'iou': float(iou.mean())}


def trivial_baselines(source, reference, truth, true_mask, source_mask=None, reference_mask=None):
  """`counterfactual_error` of the trivial answers, so a model's numbers mean something.

  copy_source: the source image; copy_reference: the reference image; flat_reference_background: a flat
  image of the reference's background colour (`border_colour`), whose object mask is empty. Masks not
  given are estimated with `estimate_object_mask`. Returns {name: counterfactual_error dict}.
  """
  source, reference = np.asarray(source), np.asarray(reference)
  src_mask = estimate_object_mask(source) if source_mask is None else source_mask
  ref_mask = estimate_object_mask(reference) if reference_mask is None else reference_mask
  flat = np.broadcast_to(border_colour(reference)[:, None, None, :], reference.shape)
  return {
      'copy_source': counterfactual_error(source, truth, src_mask, true_mask),
      'copy_reference': counterfactual_error(reference, truth, ref_mask, true_mask),
      'flat_reference_background': counterfactual_error(flat, truth, np.zeros(flat.shape[:3]), true_mask),
  }


def counterfactual_with_baselines(generated, source, reference, truth, true_mask, gen_mask=None):
  """The model's `counterfactual_error` beside the `trivial_baselines`, in one dict.

  generated: G(x_src, E(x_ref)) [N, H, W, 3]; gen_mask defaults to `estimate_object_mask(generated)`.
  Returns {'model': ..., 'copy_source': ..., 'copy_reference': ..., 'flat_reference_background': ...}.
  """
  gen_mask = estimate_object_mask(generated) if gen_mask is None else gen_mask
  return {'model': counterfactual_error(generated, truth, gen_mask, true_mask),
          **trivial_baselines(source, reference, truth, true_mask)}


# ------------------------------------------------------------------------------------------ unification


def two_sample_accuracy(a, b, classifier='logistic', test_fraction=0.5, seed=0):
  """Held-out accuracy of a classifier telling samples a [Na, d] from b [Nb, d] (0.5 = indistinguishable).

  Balanced by subsampling the larger set; stratified split; features standardised. 'logistic' (linear:
  sees mean differences) or 'mlp' (one hidden layer of 64: also sees shape differences).
  """
  rng = np.random.default_rng(seed)
  m = min(len(a), len(b))
  a = np.asarray(a, np.float64)[rng.permutation(len(a))[:m]]
  b = np.asarray(b, np.float64)[rng.permutation(len(b))[:m]]
  x, y = np.concatenate([a, b]), np.concatenate([np.ones(m), np.zeros(m)])
  x_tr, x_te, y_tr, y_te = model_selection.train_test_split(x, y, test_size=test_fraction, stratify=y,
                                                            random_state=seed)
  scaler = preprocessing.StandardScaler().fit(x_tr)
  if classifier == 'logistic':
    model = linear_model.LogisticRegression(max_iter=1000)
  elif classifier == 'mlp':
    model = neural_network.MLPClassifier((64,), alpha=1e-3, max_iter=500, random_state=seed)
  else:
    raise ValueError(f"classifier must be 'logistic' or 'mlp', not {classifier!r}.")
  model.fit(scaler.transform(x_tr), y_tr)
  return float(model.score(scaler.transform(x_te), y_te))


def unification_gap(latent_codes, reference_codes, labels, reference_labels=None, classifier='logistic', seed=0):
  """Gap between latent-based codes F(z, u) and reference-based codes E(x, u), per domain.

  latent_codes: [N, d] with domains `labels` [N]; reference_codes: [M, d] with domains
  `reference_labels` [M] (default: `labels`). Per domain: Fréchet distance between fitted Gaussians
  (0 = same first two moments), the same divided by the trace of the reference codes' covariance
  (scale-free: models whose codes are 10x smaller have 100x smaller Fréchet distances, not a smaller
  relative one) and a two-sample classifier's held-out accuracy (0.5 = indistinguishable).
  Returns dict(frechet, frechet_relative, accuracy: {u: float}, and the _mean of each).
  """
  labels = np.asarray(labels)
  reference_labels = labels if reference_labels is None else np.asarray(reference_labels)
  latent_codes, reference_codes = np.asarray(latent_codes), np.asarray(reference_codes)
  fd, rel, acc = {}, {}, {}
  for u in np.unique(labels):
    a, b = latent_codes[labels == u], reference_codes[reference_labels == u]
    mu_b, sigma_b = gaussian_stats(b)
    fd[int(u)] = frechet_distance(*gaussian_stats(a), mu_b, sigma_b)
    rel[int(u)] = fd[int(u)] / max(float(np.trace(np.atleast_2d(sigma_b))), 1e-12)
    acc[int(u)] = two_sample_accuracy(a, b, classifier=classifier, seed=seed)
  mean = lambda d: float(np.mean(list(d.values())))
  return {'frechet': fd, 'frechet_relative': rel, 'accuracy': acc, 'frechet_mean': mean(fd),
          'frechet_relative_mean': mean(rel), 'accuracy_mean': mean(acc)}


# ------------------------------------------------------------------------------------------ other


def smoothness(codes, codes_aug, max_pairs_n=2000, seed=0):
  """mean ||E(x) - E(aug(x))|| / mean_{i != j} ||E(x_i) - E(x_j)||; codes, codes_aug: [N, d]. Lower = smoother.

  The denominator makes it scale-free (0 = augmentation-invariant, 1 = an augmentation moves the code as
  far as going to another image). It is computed on at most max_pairs_n codes (random, fixed seed).
  """
  codes, codes_aug = np.asarray(codes, np.float64), np.asarray(codes_aug, np.float64)
  num = np.linalg.norm(codes - codes_aug, axis=-1).mean()
  sub = codes
  if len(codes) > max_pairs_n:
    sub = codes[np.random.default_rng(seed).choice(len(codes), max_pairs_n, replace=False)]
  den = scipy.spatial.distance.pdist(sub).mean() if len(sub) > 1 else 0.0
  return float(num / den) if den > 0 else float('nan')


def style_wasserstein(generated_style, true_style):
  """Per-factor 1-D Wasserstein distance between generated [N, n] and true [M, n] style samples.

  Returns dict(per_factor: [n], mean). In the units of the factors (the synthetic ones lie in [0, 1]).
  """
  g, t = np.asarray(generated_style, np.float64), np.asarray(true_style, np.float64)
  per = np.array([scipy.stats.wasserstein_distance(g[:, j], t[:, j]) for j in range(t.shape[1])])
  return {'per_factor': per, 'mean': float(per.mean())}


def content_preservation(source_content, output_content):
  """Pearson correlation per content factor between the source's and the output's content [N, c] -> [c].

  Constant factors give 0. (For a categorical factor such as shape, compare labels: accuracy.)
  """
  s, o = np.asarray(source_content, np.float64), np.asarray(output_content, np.float64)
  s, o = s - s.mean(0), o - o.mean(0)
  with np.errstate(invalid='ignore', divide='ignore'):
    r = (s * o).sum(0) / (np.linalg.norm(s, axis=0) * np.linalg.norm(o, axis=0))
  return np.nan_to_num(r, nan=0.0)
