"""Image engines: ``procedural`` (rule-based painting); diffusion and style transfer come later."""
