"""The serving guard's parts: rate limits, load shedding, input validation, safe model
loading and traffic summaries.

Each module is framework-free (no web framework imported) so the HTTP server composes
them and tests exercise them without a server.
"""
