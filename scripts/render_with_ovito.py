"""Opens a prediction's OVITO files (`predict --write_extxyz`) in OVITO and renders a slab.

Particles coloured by a particle column (default S_pred), bonds by a bond column (default
E_pred), in a slab through the middle of the box, viewed along z. OVITO's Python module is
not a project dependency; in a throwaway venv (software rendering needs a Vulkan driver, e.g.
Debian's libvulkan1 and mesa-vulkan-drivers):
  python3 -m venv /tmp/ovitovenv && /tmp/ovitovenv/bin/pip install ovito==3.17.2
  /tmp/ovitovenv/bin/python scripts/render_with_ovito.py predictions/mine/conf_pred.npz out.png
Checked with OVITO 3.17.2 on configuration 401 (4096 particles, 83120 bonds).
"""

import argparse
import os

from ovito.io import import_file
from ovito.modifiers import ColorCodingModifier, LoadTrajectoryModifier, SliceModifier
from ovito.vis import TachyonRenderer, Viewport

# The bond file's columns (botan_jax/export.py), as OVITO names them: the two particle
# identifiers make the bond topology, the others become bond properties.
BOND_COLUMNS = {'id': 'Bond Index', 'atom1': 'Particle Identifiers.1',
                'atom2': 'Particle Identifiers.2'}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('prediction', help='a prediction {stem}_pred.npz written with --write_extxyz')
  parser.add_argument('image', help='the PNG to write')
  parser.add_argument('--particles', default='S_pred', help='particle column to colour by')
  parser.add_argument('--bonds', default='E_pred', help='bond column to colour by')
  parser.add_argument('--slab', type=float, default=1.0, help='slab width in sigma_AA')
  args = parser.parse_args()
  stem = os.path.splitext(args.prediction)[0]
  pipeline = import_file(stem + '.extxyz')
  bonds = stem + '_bonds.dump'
  with open(bonds) as f:
    names = next(line for line in f if line.startswith('ITEM: BONDS')).split()[2:]
  trajectory = LoadTrajectoryModifier()
  trajectory.source.load(bonds, columns=[BOND_COLUMNS.get(name, name) for name in names])
  pipeline.modifiers.append(trajectory)
  length = pipeline.compute().cell[2, 2]
  pipeline.modifiers.append(SliceModifier(distance=length / 2, normal=(0, 0, 1),
                                          slab_width=args.slab))
  pipeline.modifiers.append(ColorCodingModifier(property=args.particles))
  pipeline.modifiers.append(ColorCodingModifier(property=args.bonds, operate_on='bonds'))
  for particle_type in pipeline.source.data.particles_.particle_types_.types_:
    particle_type.radius = 0.25 if particle_type.name == 'A' else 0.2
  data = pipeline.compute()
  data.particles.bonds.vis.width = 0.08
  print(f'{data.particles.count} particles and {data.particles.bonds.count} bonds in the slab; '
        f'particle columns {list(data.particles.keys())}, bond columns '
        f'{list(data.particles.bonds.keys())}')
  pipeline.add_to_scene()
  viewport = Viewport(type=Viewport.Type.Ortho, camera_dir=(0, 0, -1))
  viewport.zoom_all()
  viewport.render_image(filename=args.image, size=(600, 600), renderer=TachyonRenderer())
  print(f'Wrote {args.image}.')


if __name__ == '__main__':
  main()
