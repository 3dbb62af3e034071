"""The configs of the TFDS builder `afhq` (datasets/afhq.py) and their domains, without TFDS.

The registry needs a trained model's domain names without importing TensorFlow or TFDS, and the builder
needs them to write its records: both read them here (so the builder does not import the registry, and
the registry does not import the builder).
"""

# Domains of each builder config, in label order (sorted folder names, as StarGAN v2).
DOMAINS = {'v1': ('cat', 'dog', 'wild'), 'v2': ('cat', 'dog', 'wild'), 'celeba_hq': ('female', 'male')}
AFHQ_VERSIONS = ('v1', 'v2')  # The values of config.afhq_version; 'celeba_hq' is config.dataset='celeba_hq'.

__all__ = ['AFHQ_VERSIONS', 'DOMAINS']
