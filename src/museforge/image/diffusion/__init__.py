"""Learned image generation by diffusion: schedulers, the conditional UNet, the text encoder, the
pipeline, training, and Stable Diffusion checkpoints through diffusers.

This package's top level stays free of torch: the names below are read by the command line and
by provenance without loading a model.
"""

SAMPLER_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "euler-a": "Euler a", "dpmpp-2m": "DPM++ 2M"}
"""museforge's sampler names -> the names AUTOMATIC1111 writes in a PNG's parameters."""
