"""The zero-trust server: registry API, guarded model serving and the web dashboard."""
