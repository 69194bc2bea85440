"""Downloads of the public data: the authors' dataset and GlassBench (`download`).

  botan        the authors' archive (botan_archive.py): selected files into
               {data}/T{T:.2f}/{train,test}/.
  glassbench   the Roadmap's benchmark zip (glassbench.py): selected members
               into {data}/glassbench/, KA tarballs extracted beside them.
Both resume after an interruption; see the modules for how.
"""

from collections.abc import Sequence

from botan_jax import errors

DATASETS = ('botan', 'glassbench')


def download(dataset: str, data_dir: str = 'data', *, url: str | None = None,
             temperatures: Sequence[float] = (0.44,), time_indices: Sequence[int] = (),
             splits: Sequence[str] = (), ids: str | None = None, max_configs: int | None = None,
             members: Sequence[str] = (), keep_archive: bool = True,
             stream: bool = False) -> dict:
  """Downloads `dataset` ('botan' or 'glassbench') into `data_dir`; the same call resumes.

  Args:
    url: another URL for the source (a mirror, a local server).
    temperatures: the temperatures wanted (both datasets).
    time_indices, splits, ids ('FIRST-LAST'), max_configs: which files of the
      authors' archive (botan only; default all ten times, both splits).
    members: GlassBench zip members or folders ('KA_results/') instead of
      the tarballs of `temperatures` and KA_results/ (glassbench only).
    keep_archive: keep the downloaded archive after extraction.
    stream: botan: extract while downloading, keeping no archive.

  Returns:
    `files` (the extracted files) and `bytes_fetched`, and for glassbench `members`.
  """
  # pylint: disable=g-import-not-at-top
  if dataset == 'botan':
    from botan_jax.datasets import botan_archive
    selection = botan_archive.selection_from(temperatures, time_indices, splits, ids, max_configs)
    return botan_archive.download(data_dir, selection, url or botan_archive.URL,
                                  keep_archive=keep_archive, stream=stream)
  if dataset == 'glassbench':
    from botan_jax.datasets import glassbench
    return glassbench.download(data_dir, temperatures, members, url or glassbench.URL,
                               keep_archive=keep_archive)
  raise errors.ConfigError(f'dataset {dataset!r}: choose one of {", ".join(DATASETS)}.')
