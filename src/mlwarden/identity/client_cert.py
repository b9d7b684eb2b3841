"""Which principal a TLS client certificate names.

The TLS layer has already verified the chain against the configured client CA; this only
maps a verified certificate to a principal name.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from mlwarden.identity.model import AuthenticationError
from mlwarden.identity.names import is_valid_name

SAN_URI_PREFIX = "mlwarden://principal/"
"""A subject-alternative-name URI ``mlwarden://principal/NAME`` names the principal."""


def principal_name_from_cert(der: bytes) -> str:
    """The principal a DER certificate names: its ``mlwarden://principal/`` SAN URI, else
    its subject common name.

    Raises :class:`AuthenticationError` when the certificate cannot be parsed, names
    several different principals, has no or several common names, or the name is not a
    valid principal name.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        except x509.ExtensionNotFound:
            uris = []
        common_names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        raise AuthenticationError(detail="client certificate cannot be parsed") from None
    named = {uri[len(SAN_URI_PREFIX) :] for uri in uris if uri.startswith(SAN_URI_PREFIX)}
    if len(named) > 1:
        raise AuthenticationError(detail="client certificate names several principals")
    if named:
        name = named.pop()
    elif len(common_names) == 1 and isinstance(common_names[0].value, str):
        name = common_names[0].value
    else:
        raise AuthenticationError(detail="client certificate names no principal")
    if not is_valid_name(name):
        raise AuthenticationError(detail="client certificate names an invalid principal")
    return name
