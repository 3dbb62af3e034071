"""dss_jax: DSS (Disentangling the Style for Multi-domain Image Translation) in JAX/Flax."""
