#!/usr/bin/env bash
# The paper's generator presets at full size (N = 4096), shortened in time only: the T=5 hold,
# the quench, Nose-Hoover NVT and the NVE replicas of each of T044, T050, T056 and T064, with
#   t_hold 40, equilibration 0.01 tau_alpha, time indices 1-3, 4 replicas, one configuration.
# Each preset logs to $OUT/preset_{P}.log and its data go to $WORK/{P}. On a machine with more
# cores, PARALLEL=1 runs the four at once, each pinned to its own cores (CORES="0-3 4-6 7-9 10-11").
# Usage: OUT=results bash benchmarks/paper_presets.sh
set -u
OUT=${OUT:-preset_results}; WORK=${WORK:-/tmp/botan_presets}; mkdir -p "$OUT" "$WORK"
PY=${PY:-python3}
PRESETS=(${PRESETS:-T044 T050 T056 T064})
read -r -a CORES <<< "${CORES:-0-3 4-6 7-9 10-11}"
run_preset() {  # run_preset PRESET [CORES]
  local pin=()
  [[ -n ${2:-} ]] && command -v taskset > /dev/null && pin=(taskset -c "$2")
  local start=$SECONDS
  JAX_PLATFORMS=${JAX_PLATFORMS:-cpu} "${pin[@]}" timeout "${LIMIT:-1200}" $PY main.py \
    --config=configs/generate.py:"$1" --workdir="$WORK/$1" --config.num_train=1 \
    --config.num_test=0 --config.t_hold=40 --config.equilibration_tau_alpha=0.01 \
    --config.time_indices=1,2,3 --config.num_replicas=4 --config.log_interval_s=30 \
    --alsologtostderr > "$OUT/preset_$1.log" 2>&1
  echo "preset $1: rc=$? in $((SECONDS - start)) s"; grep -a 'configurations\|complete' "$OUT/preset_$1.log" | tail -n 2
}
if [[ ${PARALLEL:-0} == 1 ]]; then
  for k in "${!PRESETS[@]}"; do run_preset "${PRESETS[$k]}" "${CORES[$k]}" & done
  wait
else
  for preset in "${PRESETS[@]}"; do run_preset "$preset"; done
fi
