"""Who is calling: principals, groups, role bindings, API keys, TOTP, tokens, OIDC, mTLS.

Submodules are imported on use (``mlwarden.identity.store`` needs the server extras); the
shared types are in :mod:`mlwarden.identity.model`.
"""
