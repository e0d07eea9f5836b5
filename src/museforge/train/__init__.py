"""Training: one loop (``loop.py``) and a small file per model family."""
