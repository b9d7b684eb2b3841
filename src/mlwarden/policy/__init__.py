"""What a principal may do: Cedar authorization and adaptive request risk.

:mod:`mlwarden.policy.authorizer` answers "may this principal perform this action on this
resource?" from Cedar policies (bundled defaults in ``data/*.cedar`` or a user's directory);
:mod:`mlwarden.policy.risk` scores how unusual a request is for its principal.
"""
