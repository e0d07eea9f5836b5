"""Bring your own data: a folder of images, texts and music becomes a licence-aware training data
set (``manifest.parquet``, ``items/``, ``card.json``, ``README.md``); see :mod:`museforge.data.ingest`
and, for reading one, :func:`museforge.data.manifest.open_dataset`."""
