#!/usr/bin/env bash
# The accelerator figures docs/benchmarks.md lacks, in one run on one GPU (or TPU host):
#
#   bash scripts/accelerator_benchmark.sh [OUT_DIR]          # default OUT_DIR: runs/accelerator_benchmark
#
# 1. The AFHQ-sized training iteration (256 px, batch 8, the official widths, random data already on
#    the device): DSS and the StarGAN v2 baseline, each in float32 and bfloat16 (`python -m dss_jax.bench`:
#    compile time, median s/iter, images/s, peak device memory).
# 2. A 64 px synthetic DSS run (dim_in 32, max_conv_dim 128, batch 16) for SYNTH_ITERS iterations
#    (default 3000), then the identifiability table that `dss_jax.main` prints at the end. It captures a
#    profiler trace of PROFILE_STEPS steps (default 5) in OUT_DIR/synthetic64/plugins/profile/
#    (`tensorboard --logdir OUT_DIR/synthetic64`, Profile tab).
# Every figure goes to stdout and to OUT_DIR/*.txt. Budget: about 4 compiles of a 256 px step plus the
# synthetic run; set SYNTH_ITERS lower where device time is short.
#
# Not yet run on an accelerator by this project (none was available): QUICK=1 shrinks every size so the
# script itself can be checked on a CPU in a few minutes; its figures mean nothing.
set -euo pipefail
OUT=${1:-runs/accelerator_benchmark}
ITERS=${ITERS:-20}
SYNTH_ITERS=${SYNTH_ITERS:-3000}
PROFILE_STEPS=${PROFILE_STEPS:-5}
SMALL=()
SYNTH=(--config.img_size=64 --config.dim_in=32 --config.max_conv_dim=128)
if [ "${QUICK:-0}" = 1 ]; then
  SMALL=(--config.img_size=32 --config.dim_in=8 --config.max_conv_dim=16 --config.style_dim=4
         --config.mapping_hidden=16 --config.flow.cond_width=16 --config.style_disc_hidden=16)
  SYNTH=(--config.img_size=32 --config.dim_in=8 --config.max_conv_dim=16 --config.synthetic.train_per_domain=40
         --config.synthetic.test_per_domain=8)
  ITERS=2
  SYNTH_ITERS=4
  PROFILE_STEPS=1
fi
mkdir -p "$OUT"
quiet() { grep -v -e '^I0000' -e '^E0000' -e '^W0000' -e '^WARNING: All log' -e 'oneDNN' -e 'cuda_' || true; }

python -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | quiet | tee "$OUT/devices.txt"
for config in afhq.py afhq.py:stargan_v2; do
  for dtype in float32 bfloat16; do
    name="bench_${config/:/_}_${dtype}"
    echo "== $config $dtype" | tee "$OUT/$name.txt"
    python -m dss_jax.bench --config="configs/$config" --config.dtype="$dtype" --iters="$ITERS" "${SMALL[@]}" \
      2>&1 | quiet | tee -a "$OUT/$name.txt"
  done
done

echo "== synthetic 64 px, $SYNTH_ITERS iterations" | tee "$OUT/synthetic64.txt"
start=$(date +%s)
python -m dss_jax.main --config=configs/synthetic.py --workdir="$OUT/synthetic64" "${SYNTH[@]}" \
  --config.total_iters="$SYNTH_ITERS" --config.ds_iter="$SYNTH_ITERS" --config.sample_every="$SYNTH_ITERS" \
  --config.checkpoint_every="$SYNTH_ITERS" --config.profile_steps="$PROFILE_STEPS" 2>&1 | quiet \
  | tee -a "$OUT/synthetic64.txt"
echo "synthetic 64 px: $(( $(date +%s) - start )) s wall, training and evaluation" | tee -a "$OUT/synthetic64.txt"
