"""Statistical and ML checks on data and models (layer 1: pure, no I/O)."""
