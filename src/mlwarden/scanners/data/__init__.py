"""Regulated-data discovery: personal, health, payment and credential data in data files.

:mod:`.entities` is the public detection API; :mod:`.scanners` holds the format scanners
(CSV, TSV, JSON lines, Parquet, plain text, Jupyter notebooks) and :mod:`.sniffers` the
content-first format tests.
"""
