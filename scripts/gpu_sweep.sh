#!/bin/bash
# The driver of scripts/recipe_sweep.py on a lent GPU machine (issue 15; results in
# ../shared/notes/recipe-sweep.md). That machine has JAX with CUDA but no Keras and no
# internet, and it does not get ../shared. Before the call, here:
#   echo /.whl/ >> .git/info/exclude; echo /.devdata/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex optree
#   mkdir -p .devdata && cp ../shared/data/mnist.npz .devdata/
# and run it there with `carry: [".whl", ".devdata"]`, e.g. `MINUTES=7.3 bash scripts/gpu_sweep.sh`.
# Seven processes share the GPU; each trains its candidates one after the other, and
# all append to $OUT/sweep.jsonl. ROUND=2 runs the second round's candidates; ROUND=3 the seed
# spreads: chapter 8/9's two-layer DCGAN at their budget, chapter 4's DCGAN and chapter 5's
# WGAN-GP at theirs, each with seeds 1-5, one process each (a later --every or --seed wins).
# ROUND=4: StyleGAN candidates (issue 18), one process each.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax GANCORE_DATA_DIR=.devdata XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import keras, jax; print('keras', keras.__version__, 'jax', jax.__version__, jax.devices())" || exit 1
S="python3 scripts/recipe_sweep.py --minutes ${MINUTES:-7} --every 2 --out $OUT/sweep.jsonl"
if [ "${ROUND:-1}" = 4 ]; then
  groups=(stylegan_r1_0p1:10 stylegan_r1_1:10 stylegan_r1_10:10 stylegan_r1_0:10
    stylegan_nomix:10 stylegan_g6e-4:10 stylegan_narrow:10 stylegan_b0_99:10)
elif [ "${ROUND:-1}" = 3 ]; then
  groups=()
  for seed in 1 2 3 4 5; do
    groups+=("--seed $seed --every 1 dcgan_w32:4" "--seed $seed dcgan_refine14_drefine:10"
      "--seed $seed wgan_gp_nc2_lr5e-4:10")
  done
elif [ "${ROUND:-1}" = 1 ]; then
  groups=("dcgan_w32:30 dcgan_w32_refine14:30" "dcgan_w64:16 dcgan_g48_d32:24"
    "dcgan_g64_d32:20 dcgan_w32_refine7:30" "wgan_gp_w32:16 wgan_gp_w32_nc2:16"
    "wgan_gp_w32_lr2e-4:16 wgan_gp_g64_c32:16" "wgan_clip_w32:16 wgan_clip_w32_lr2e-4:16"
    "mlp_gan:20 vae16:60")
else
  groups=("dcgan_w32_refine7_14:30 dcgan_g64_refine14:30" "dcgan_refine14_drefine:30 dcgan_refine14_b32:20"
    "dcgan_refine14_g2e-4:30 dcgan_refine14_g4e-4:30" "wgan_gp_nc1:24 wgan_gp_nc2_lr5e-4:20"
    "wgan_gp_nc2_refine14:24 wgan_gp_nc2_b32:16" "wgan_clip_lr5e-4:24 wgan_clip_nc2_lr2e-4:24"
    "mlp_gan_g6e-4:20 mlp_gan_lr1e-4:20" "vae16_lr2e-3:60")
fi
for i in "${!groups[@]}"; do
  # shellcheck disable=SC2086  # each group is a list of candidate names
  $S ${groups[$i]} > "$OUT/p$i.log" 2>&1 &
done
wait
cat "$OUT"/p*.log > "$OUT/logs.txt" && rm "$OUT"/p*.log
