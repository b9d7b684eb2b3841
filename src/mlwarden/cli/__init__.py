"""The command-line face: parse arguments, call the engine, render."""
