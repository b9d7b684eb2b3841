"""The web dashboard: server-rendered pages under ``/ui`` over the same guard as the API.

Pages authenticate with the ``mlw_session`` cookie (set by the login form) or any API
credential; state-changing forms carry a CSRF token bound to the session and must come
from the dashboard's own origin.
"""
