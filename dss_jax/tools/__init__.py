"""Command-line tools that sit beside training: `import_stargan_v2` (official PyTorch checkpoints)."""
