"""dss_jax: DSS (Disentangling the Style for Multi-domain Image Translation) in JAX/Flax."""

import setuptools

setuptools.setup(
    name='dss_jax',
    version='0.1.0',
    description='DSS multi-domain image translation (StarGAN v2 with a spline-flow style space) in JAX/Flax.',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=setuptools.find_packages(include=['dss_jax', 'dss_jax.*', 'configs']),
    # The model shipped with the package (dss_jax/bundle.py; python -m dss_jax.demo opens it).
    package_data={'dss_jax': ['assets/*/*.json', 'assets/*/*.msgpack']},
    python_requires='>=3.10',
    install_requires=[
        'jax>=0.10.2',
        'flax>=0.12.8',
        'optax>=0.2.8',
        'distrax>=0.1.9',
        'tfp-nightly>=0.26.0.dev20261027',  # distrax 0.1.9 needs a TFP that knows this jax.
        'orbax-checkpoint>=0.12.8',
        'tensorflow>=2.21',
        'tf-keras>=2.21',  # TFP (under distrax) insists on it whenever TensorFlow is imported first.
        'tensorflow-datasets>=4.9.10',
        'ml-collections>=1.0',
        'clu>=0.0.12',
        'tensorboard>=2.21',
        'numpy>=2.0',
        'pillow>=10.0',
        'scipy>=1.12',
        'scikit-learn>=1.4',
    ],
    extras_require={
        # playwright drives the system's chromium in the editing page's browser tests (never its own download).
        'test': ['pytest>=8.0', 'chex>=0.1.92', 'ruff>=0.6', 'nbclient>=0.10', 'nbformat>=5.9', 'ipykernel>=6.0',
                 'playwright>=1.40'],
        'torch': ['torch>=2.0'],
        'demo': ['gradio>=6.31'],  # The editing page (python -m dss_jax.demo); 6.31.0 is the version tested.
    },
)
