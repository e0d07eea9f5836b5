"""museforge: a local-first studio for AI-assisted art."""

__version__ = "0.1.0"
