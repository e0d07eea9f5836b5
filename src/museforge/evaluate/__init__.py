"""Evaluation: objective metrics per modality."""
