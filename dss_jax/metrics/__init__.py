"""Evaluation metrics of dss_jax: pure functions over arrays, wired into `--mode=eval` by the training code.

- `fid`: Fréchet distance, Gaussian statistics, torchvision Inception-v3 features (StarGAN v2's FID).
- `lpips`: AlexNet + LPIPS v0.1 linear weights, the 45-pair diversity (StarGAN v2's LPIPS).
- `identifiability`: the synthetic benchmark (MCC, DCI, counterfactual error, unification gap,
  smoothness, style Wasserstein, content preservation); numpy / scipy / scikit-learn only.
- `oracle`: a small CNN reading domain, content and style from synthetic images, trained once and cached.
- `report`: JSON and every markdown table (configuration x metric, mean ± std over seeds; the
  `--mode=eval` headline table of one evaluation).

FID and LPIPS need local weight files (`config.inception_path`, `config.lpips_path`); see
README.md ("Metrics") and scripts/convert_torchvision_weights.py. Without them `load_inception` /
`load_lpips` raise `dss_jax.errors.MetricWeightsNotFoundError` (a FileNotFoundError) and the rest still runs.
"""
