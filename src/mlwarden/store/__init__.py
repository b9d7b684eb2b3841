"""The vault: an encrypted, content-addressed artifact store with a catalog and lineage.

Layer 2 (state). ``crypto`` holds envelope encryption and key providers, ``blobs`` the
blob backends, ``catalog`` the SQLAlchemy schema and queries, ``signing`` signatures and
provenance; :mod:`mlwarden.store.vault` composes them with the ledger.
"""
