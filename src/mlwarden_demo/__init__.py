"""Builds a small folder of model files for `make demo`: benign models and a few harmless
malicious ones (their payloads would only create a marker file if anything loaded them)."""
