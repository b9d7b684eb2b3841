"""Scanners for model-file formats."""
