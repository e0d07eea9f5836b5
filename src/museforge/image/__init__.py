"""Image engines: ``procedural`` (rule-based painting), ``diffusion`` (learned text to image,
editing, Stable Diffusion checkpoints), ``gan`` (a conditional GAN for comparison) and sculpture."""
