#!/usr/bin/env bash
# GPU checks in one go (a lent H100/H200 machine): the train-step benchmark in bfloat16, TF32
# and exact float32 (`bench`); profiles of where a BOTAN step's device time goes (`profile`);
# the edge layouts of message passing (`layouts`); the paper's recipe on the shared sample
# (BOTAN fine-tuned from the authors' model1, NT-GNN from scratch; `train`); and the MD
# generator benchmark (`md`). Usage:
#   OUT=results DATA=path/to/botan_small/T0.44 WEIGHTS=path/to/model1.npz bash benchmarks/device_suite.sh
# Each stage has its own time limit; logs and metrics land in $OUT, runs and caches in $WORK.
# STAGES picks what runs (default: "bench train md"; also "profile" and "layouts");
# BENCH_FLAGS and LAYOUT_FLAGS pass extra flags (e.g. --skip_ntgnn, --layouts a,b).
set -u
OUT=${OUT:-device_results}; WORK=${WORK:-/tmp/botan_suite}; mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PY:-python3}
stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "stage $name: rc=$? in $((SECONDS - start)) s"; tail -n 3 "$OUT/$name.log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c 'import jax, flax, optax; print("jax", jax.__version__, "flax", flax.__version__, "optax", optax.__version__, jax.devices())'
STAGES=${STAGES:-bench train md}
# Most telling first, so that a call cut short still answers the main questions.
bench=($PY -m benchmarks.train_step --repeats "${REPEATS:-20}" --data "$DATA/train")
if [[ $STAGES == *bench* ]]; then
stage bench_bfloat16 "${BENCH_LIMIT:-150}" "${bench[@]}" --precision default --dtype bfloat16 \
  --peak_tflops "${PEAK_TFLOPS_BF16:-989}" ${BENCH_FLAGS:-}
stage bench_default "${BENCH_LIMIT:-150}" "${bench[@]}" --precision default \
  --peak_tflops "${PEAK_TFLOPS_TF32:-495}" ${BENCH_FLAGS:-}
stage bench_highest "${BENCH_LIMIT:-150}" "${bench[@]}" --precision highest \
  --peak_tflops "${PEAK_TFLOPS:-67}" ${BENCH_FLAGS:-}
fi
# Profiles run without XLA's command buffers: inside one, every kernel is attributed to the
# buffer rather than to the XLA operation that launched it.
if [[ $STAGES == *profile* ]]; then
for dtype in ${PROFILE_DTYPES:-bfloat16 float32}; do
XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_enable_command_buffer=" stage "profile_$dtype" \
  "${BENCH_LIMIT:-150}" "${bench[@]}" --precision default --dtype "$dtype" --skip_ntgnn \
  --profile_dir "$WORK/profile_$dtype"
done
fi
if [[ $STAGES == *layouts* ]]; then
for dtype in ${LAYOUT_DTYPES:-bfloat16 float32}; do
stage "layouts_$dtype" "${LAYOUTS_LIMIT:-120}" $PY -m benchmarks.message_passing_layouts \
  --data "$DATA/train" --repeats "${LAYOUT_REPEATS:-50}" --dtype "$dtype" ${LAYOUT_FLAGS:-}
done
fi
if [[ $STAGES == *train* ]]; then
common=(--config=configs/botan.py:T044_t4120 --config.data.train_pattern="$DATA/train/*.npz"
        --config.data.test_pattern="$DATA/test/*.npz" --config.data.cache_dir="$WORK/cache"
        --config.num_epochs="${EPOCHS:-1000}" --config.checkpoint_every_epochs=100 --alsologtostderr)
stage botan_finetune "${TRAIN_LIMIT:-170}" $PY main.py "${common[@]}" --workdir="$WORK/botan_ft" \
  --config.init_from=pyg:"$WEIGHTS" --config.model.precision="${PRECISION:-highest}"
stage ntgnn "${TRAIN_LIMIT:-170}" $PY main.py "${common[@]}" --workdir="$WORK/ntgnn" --config.loss_p=1.0 \
  --config.model.precision="${PRECISION:-highest}"
cp "$WORK"/botan_ft/metrics.jsonl "$OUT"/botan_ft_metrics.jsonl 2>/dev/null
cp "$WORK"/ntgnn/metrics.jsonl "$OUT"/ntgnn_metrics.jsonl 2>/dev/null
fi
if [[ $STAGES == *md* ]]; then
stage md_gpu "${MD_LIMIT:-250}" $PY -m benchmarks.md_gpu ${MD_FLAGS:-}
fi
