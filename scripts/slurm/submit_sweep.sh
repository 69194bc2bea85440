#!/bin/bash
# A sweep as a SLURM job array plus a dependent collect job.
#
#   bash scripts/slurm/submit_sweep.sh T044 runs/sweep_T044
set -euo pipefail
SWEEP=${1:-T044}
WORKDIR=${2:-runs/sweep_$SWEEP}
HERE=$(dirname "$0")
mkdir -p logs
COUNT=$(botan-jax --mode=sweep --config=sweep:"$SWEEP" --workdir="$WORKDIR" --list_tasks \
        | tail -n 1 | cut -d' ' -f1)
ARRAY=$(sbatch --parsable --array=0-$((COUNT - 1)) "$HERE/sweep_task.sbatch" "$SWEEP" "$WORKDIR")
sbatch --dependency=afterany:"$ARRAY" "$HERE/sweep_collect.sbatch" "$SWEEP" "$WORKDIR"
echo "Submitted $COUNT sweep tasks (job $ARRAY) and their collect job."
