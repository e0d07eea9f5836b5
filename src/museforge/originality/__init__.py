"""Originality: how much of an output repeats the training data."""
