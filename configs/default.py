"""Base config: every key of dss_jax, once, with what it means.

The dataset configs (`afhq.py`, `celeba_hq.py`, `synthetic.py`) start from this one and change only
what differs. Every config accepts an argument naming a configuration of the results tables
(`VARIANTS` below): `:stargan_v2` is the baseline (MLP mapping network with latent_dim 16,
lambda_uni = lambda_smooth = 0), `:dss` METHOD.md's DSS, `:flow`, `:flow_uni`, `:stargan_v2_smooth`,
`:stargan_v2_uni` the ablations, `:dss_flow_nll`, `:dss_uni_both`, `:dss_sty_z` the extensions:

  python -m dss_jax.main --config=configs/afhq.py:stargan_v2 --workdir=runs/afhq_baseline
"""

import ml_collections


def get_config():
  """Returns the base configuration (AFHQ-sized DSS)."""
  config = ml_collections.ConfigDict()
  config.seed = 777  # Seeds parameters, data order and noise: a seed fully determines a run.

  # ---------------------------------------------------------------- data
  config.dataset = 'afhq'  # 'afhq' | 'celeba_hq' | 'synthetic' | 'folder' (your own train/<domain>/ tree) | 'vector'.
  config.afhq_version = 'v1'  # 'afhq' only: the AFHQ release, 'v1' (2020, JPEG) | 'v2' (2021, PNG).
  config.data_dir = ''  # 'folder': root of train/<domain>/ (optionally val/). Else TFDS data_dir ('' = default).
  config.manual_dir = ''  # Where the extracted AFHQ / CelebA-HQ archives are ('' = TFDS default manual dir).
  config.num_domains = 3  # K; checked against the dataset's domains (synthetic.py derives it from n_style).
  config.img_size = 256  # Images are resized to img_size x img_size.
  config.randcrop_prob = 0.5  # Probability of the random-resized crop (scale 0.8-1.0, ratio 0.9-1.1).
  config.shuffle_buffer = 2_000  # tf.data shuffle buffer (per domain).
  config.prefetch = 2  # Batches prefetched onto the devices ahead of the step.
  # Vector data with known factors (dss_jax/datasets/vector.py, configs/vector.py); ignored for other datasets.
  config.vector = ml_collections.ConfigDict()
  config.vector.n_style = 2  # Style components n (independent given u).
  config.vector.n_content = 2  # Content components (the same distribution in every domain).
  config.vector.variant = 'full'  # 'full' (loc and scale vary: the theorem holds) | 'location_only' (control).
  config.vector.data_seed = 0  # Seeds the mixing and the per-domain style distributions.
  config.vector.hidden = 64  # Width of the MLP networks.
  # The synthetic dataset (dss_jax/datasets/synthetic.py); ignored for other datasets.
  config.synthetic = ml_collections.ConfigDict()
  config.synthetic.n_style = 2  # Number of true style factors n (1-3); the dataset has K = 2n+1 domains.
  config.synthetic.variant = 'style_domains'  # 'style_domains' (domains differ in style only) | 'species' (and shape).
  config.synthetic.train_per_domain = 2_000  # Training images per domain.
  config.synthetic.test_per_domain = 200  # Test images per domain.
  config.synthetic.oracle_per_domain = 2_000  # Eval: training images per domain of the oracle that reads outputs.
  config.synthetic.oracle_steps = 1_500  # Eval: the oracle's training steps (trained once, cached in <workdir>/oracle).

  # ---------------------------------------------------------------- model
  config.dim_in = -1  # Width of the first conv; -1 = 2**14 // img_size, as StarGAN v2.
  config.max_conv_dim = 512  # Channel cap of G, E and D.
  config.style_dim = 64  # Size of the style code s (and of the flow's z).
  config.w_hpf = 0.0  # > 0: CelebA-HQ variant (extra stage, no decoder shortcuts, high-pass mask path).
  config.fan_path = ''  # w_hpf > 0: FAN weights (.npz, dss_jax/tools/import_fan.py) for the mask path; '' = no masks.
  config.mapping = 'flow'  # 'flow' (DSS spline flow) | 'mlp' (StarGAN v2 mapping network).
  config.latent_dim = 16  # z size of the 'mlp' mapping; the flow's z has style_dim components.
  config.mapping_hidden = 512  # Hidden width of the 'mlp' mapping network.
  config.flow = ml_collections.ConfigDict()
  config.flow.num_layers = 4  # Stacked component-wise rational-quadratic spline layers.
  config.flow.num_bins = 8  # Spline bins per component.
  config.flow.range = 4.0  # Splines act on [-range, range]; identity outside.
  config.flow.cond_width = 256  # Width of the conditioner MLP theta_u = MLP(u).
  config.flow.cond_depth = 2  # Hidden layers of the conditioner.
  config.flow.affine_init = 0.0  # > 0: per-domain random shift / log-scale at init (std), domain info from step 0.
  config.style_disc_hidden = 256  # Width of the style discriminator D_s.
  config.style_disc_depth = 2  # Hidden layers of D_s.
  config.dtype = 'float32'  # Activation dtype: 'float32' | 'bfloat16' (parameters and losses stay float32).

  # ---------------------------------------------------------------- losses
  config.lambda_reg = 1.0  # R1 penalty on real images, every D step.
  config.lambda_sty = 1.0  # Style reconstruction.
  config.lambda_ds = 2.0  # Diversity weight at step 0; decays linearly to 0 over ds_iter.
  config.ds_iter = 100_000  # Steps over which lambda_ds decays (computed from the step: resume-safe).
  config.lambda_cyc = 1.0  # Cycle consistency.
  config.lambda_uni = 1.0  # DSS unification loss (0 turns it off).
  config.lambda_smooth = 1.0  # DSS smoothness triplet loss (0 turns it off).
  config.smooth_margin = 0.1  # Triplet margin alpha.
  # Extensions beyond METHOD.md (off by default; docs/experiments.md says what they did):
  config.uni_target = 'encoder'  # Who L_uni moves: 'encoder' (METHOD.md) | 'both' (the flow is pulled too).
  config.lambda_flow_nll = 0.0  # The flow fits the reference codes E(x, u) by maximum likelihood (flow only).
  config.sty_space = 's'  # Where L_sty compares codes: 's' (METHOD.md) | 'z' (F^-1(s; u), flow only: scale-free).

  # ---------------------------------------------------------------- optimisation
  config.batch_size = 8  # Global batch (split over the 'data' mesh axis).
  config.total_iters = 100_000  # Training iterations (each: 2 D steps + 2 G steps + EMA).
  config.lr = 1e-4  # Generator, style encoder and discriminators.
  config.f_lr = 1e-6  # Mapping network (flow or MLP).
  config.beta1 = 0.0
  config.beta2 = 0.99
  config.weight_decay = 1e-4  # Coupled L2 (added to the gradient before Adam), as the reference.
  config.ema_decay = 0.999  # EMA of the generator and style trees.

  # ---------------------------------------------------------------- loop, logging, checkpoints
  config.log_every = 10  # Scalars (every loss term, lambda_ds, gradient norms) every N steps.
  config.sample_every = 5_000  # Image grid (source | reference-guided | latent-guided) every N steps.
  config.checkpoint_every = 10_000  # Orbax checkpoint every N steps (and at the end).
  config.keep_checkpoints = 3  # Checkpoints kept.
  config.eval_every = 50_000  # --mode=eval metrics during training every N steps (0 = never; run --mode=eval).
  config.profile_steps = 0  # > 0: a profiler trace of that many steps (from this run's 5th) for TensorBoard.

  # ---------------------------------------------------------------- evaluation
  config.val_batch_size = 32  # Batch of the eval pipeline.
  config.num_outs_per_domain = 10  # Outputs per source image in the FID/LPIPS protocol.
  config.inception_path = ''  # Local .npz of torchvision Inception-v3 weights (for FID).
  config.lpips_path = ''  # Local .npz of AlexNet + LPIPS linear weights (for LPIPS).
  return config


def stargan_v2(config):
  """Turns a DSS config into the StarGAN v2 baseline, in place; returns it."""
  config.mapping = 'mlp'
  config.latent_dim = 16
  config.lambda_uni = 0.0
  config.lambda_smooth = 0.0
  config.lambda_flow_nll = 0.0
  config.sty_space = 's'
  config.uni_target = 'encoder'
  return config


def method_dss(config):
  """DSS exactly as METHOD.md writes it (flow, L_uni on the encoder, L_smooth; no extension)."""
  config.mapping = 'flow'
  config.lambda_uni = 1.0
  config.lambda_smooth = 1.0
  config.uni_target = 'encoder'
  config.lambda_flow_nll = 0.0
  config.sty_space = 's'
  return config


def _set_flow(config, **changes):
  for key, value in changes.items():
    config.flow[key] = value
  return config


def _with(base, **changes):
  def apply(config):
    base(config)
    for key, value in changes.items():
      config[key] = value
    return config
  return apply


# The `path:arg` arguments every config accepts: one per row of the results tables (docs/results.md).
# Each turns the file's config into that configuration, in place; '' keeps the file's own choice.
VARIANTS = {
    'stargan_v2': stargan_v2,  # The baseline: MLP mapping, no L_uni, no L_smooth.
    'stargan_v2_smooth': _with(stargan_v2, lambda_smooth=1.0),  # + DSS's smoothness loss.
    'stargan_v2_uni': _with(stargan_v2, lambda_uni=1.0),  # + DSS's unification loss (MLP codes as 'latent').
    'flow': _with(method_dss, lambda_uni=0.0, lambda_smooth=0.0),  # DSS's flow mapping alone.
    'flow_uni': _with(method_dss, lambda_smooth=0.0),  # Flow + L_uni.
    'dss': method_dss,  # METHOD.md's DSS.
    # Extensions beyond METHOD.md (docs/training.md says what each does):
    'dss_uni_both': _with(method_dss, uni_target='both'),  # L_uni moves the flow too (the seed read literally).
    'dss_flow_nll': _with(method_dss, lambda_flow_nll=1.0),  # The flow fits E(x, u) by maximum likelihood.
    'dss_sty_z': _with(method_dss, sty_space='z'),  # L_sty in the flow's base space.
    # The flow starts with a random per-domain shift / log-scale (flow.affine_init), so its codes carry the
    # domain from step 0 as StarGAN v2's random heads do (METHOD.md's zero init gives every domain s = z).
    'dss_anchored': lambda c: _with(method_dss)(c) and _set_flow(c, affine_init=1.0),
}


def finalize(config, arg):
  """Applies the `path:arg` argument of config_flags ('' or a name of VARIANTS)."""
  if arg in VARIANTS:
    VARIANTS[arg](config)
  elif arg:
    raise ValueError(f'Unknown config argument {arg!r}; the arguments are: {", ".join(VARIANTS)}.')
  return config
