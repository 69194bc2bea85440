"""Isoconfigurational molecular dynamics of the Kob-Andersen mixture on jax-md.

`potential`: the shifted-force Lennard-Jones pair energy, forces and neighbor
lists; `neighbors`: the host k-d tree builder of those lists (CPUs);
`engine`: the compiled, batched MD loop (Nose-Hoover NVT, NVE) with
neighbor-list overflow recovery, precision and device sharding; `protocol`:
the paper's stages on it (temperature schedule, lattice start,
melt/quench/equilibration, NVE replicas); `plans`: a generate config checked
into a plan with its physics fingerprint; `state`: the generator's
per-configuration checkpoints; `generate`: the resumable dataset driver.
"""
