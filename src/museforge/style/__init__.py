"""Style transfer and fusion: Gatys optimisation on VGG features and instant colour transfer.

The plain functions: :func:`museforge.style.transfer.stylize` (files in, PNG with provenance
out), :func:`museforge.style.gatys.stylize_gatys` (tensors), :mod:`museforge.style.color`.
"""
