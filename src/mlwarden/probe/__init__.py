"""Probe a running endpoint for ML services that answer anonymous clients.

Network code lives here, not in :mod:`mlwarden.scanners` (which is pure). The probe sends
a few bounded GETs to documented read-only endpoints, never credentials, never to another
host than the one named. Entry points: :func:`mlwarden.probe.probe_run.probe_url` and
:func:`mlwarden.probe.probe_run.probe_report`; rules ``MLW-PRB-*`` are in
:mod:`mlwarden.probe.service_probes`.
"""
