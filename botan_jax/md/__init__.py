"""Isoconfigurational molecular dynamics of the Kob-Andersen mixture on jax-md.

`potential`: the shifted-force Lennard-Jones pair energy, forces and neighbor
lists; `protocol`: lattice start, Nose-Hoover melt/quench/equilibration and
batched NVE replicas; `generate`: the resumable dataset driver.
"""
