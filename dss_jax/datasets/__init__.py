"""Datasets of dss_jax. Importing this package imports neither TensorFlow nor TFDS.

Modules: `registry` (what config.dataset may be: domain names, in-memory splits, the name of the input
pipeline's source of each; no TensorFlow), `synthetic` (pure numpy factors and `render`), `image_folder`
(your own `train/<domain>/` tree; no TensorFlow), `afhq_configs` (the AFHQ builder's configs and their
domains; no TFDS), and the TFDS builders `afhq` and `synthetic_builder`. Importing a builder module
registers its builder with TFDS (the input pipeline imports `afhq` where it builds one):

  from dss_jax.datasets import afhq, synthetic_builder  # noqa: F401  (registers `afhq` and `synthetic`)
  tfds.builder('afhq/v2', config=None)            # AFHQ v1 / v2 / CelebA-HQ (manual download)
  tfds.builder('synthetic/style_domains')          # the ground-truth benchmark (rendered locally)
"""
