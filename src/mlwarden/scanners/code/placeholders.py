"""Values that stand in for a secret: templates, references and examples.

Documentation, config templates and notebooks are full of ``<your-key>``, ``${TOKEN}``,
``os.environ["KEY"]`` and ``hf_xxxxxxxx``. None of these is a credential, so none is
reported. Two strengths of test exist because a token that matched a precise format
(``hf_`` and 34 letters) is very likely real, while a value found only by its assignment
context (``password = ...``) is not:

* :func:`is_placeholder_token` (format matches): masking runs (six or more of one
  character), keyboard sequences (``12345678``, ``abcdefgh``), very few distinct
  characters, and the words EXAMPLE, SAMPLE, PLACEHOLDER, REDACTED, DUMMY, CHANGEME
  (long enough that a random body almost never contains them by chance).
* :func:`is_placeholder_value` (context matches) adds: template and variable references
  (``${X}``, ``$X``, ``{{ x }}``, ``<x>``, ``%(x)s``, ``{x}``), code that reads a secret
  from elsewhere (``os.environ``, ``getenv``, ``userdata.get``, ``dbutils.secrets``,
  ``getpass``, ``process.env`` ...), masks of four ``x``/``*``/``.``/``#`` or more, and
  stand-in words (``changeme``, ``password``, ``secret``, ``your...``, ``some_...``,
  ``test``, ``none``, ``null``, ``todo``, ``foo``, ``pass``, ``scott``/``tiger`` ...) that
  make up the whole value, optionally with a ``_here``/``_key`` suffix and a few digits.
"""

from __future__ import annotations

import re

_STRONG_WORDS = (b"example", b"sample", b"placeholder", b"redacted", b"dummy", b"changeme")
_SEQUENCES = (
    b"0123456789",
    b"abcdefghijklmnopqrstuvwxyz",
    b"zyxwvutsrqponmlkjihgfedcba",
    b"9876543210",
    b"qwertyuiop",
)
_RUN = re.compile(rb"(.)\1{5,}", re.DOTALL)
_MASK = re.compile(rb"[xX*.#]{4,}|(?:\xe2\x80\xa2){3,}")
_TEMPLATE = re.compile(
    rb"\$\{[^}]*\}|\$\([^)]*\)|^\$[A-Za-z_][A-Za-z0-9_]*$|\{\{.*\}\}|<[^<>]{1,80}>"
    rb"|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]|^%[sd]$|\{[A-Za-z_][A-Za-z0-9_.]*\}|\{\}"
)
_REFERENCE = re.compile(
    rb"(?i)os\.environ|environ\[|getenv|env\.get|process\.env|userdata\.get|dbutils\.secrets"
    rb"|getpass|keyring\.|secretmanager|vault\.|\bsecrets\.|\bsettings\.|\bconfig\[|\bENV\["
)
_STAND_IN = re.compile(
    rb"(?i)^(?:change[_-]?me|changeit|password|passwd|secret|token|api[_-]?key|key|value"
    rb"|your[a-z_-]*|my[_-]?(?:secret|token|key|password)[a-z_-]*|test(?:ing)?|none|null|nil"
    rb"|undefined|empty|todo|fixme|tbd|foo|bar|baz|foobar|admin|root|default|string|str"
    rb"|insert[a-z_-]*|enter[a-z_-]*|replace[a-z_-]*|put[a-z_-]*here|fake[a-z_-]*|mock[a-z_-]*"
    rb"|dummy[a-z_-]*|example[a-z_-]*|sample[a-z_-]*|xxx+|abc|qwerty|letmein|pass|pw|pwd"
    rb"|scott|tiger|hunter|some[_-]?[a-z]+|p[a@]ssw[o0]rd|passw[o0]rd|s3cr[e3]t|guest|user"
    rb"|(?:top|super|very)[ _-]?secret)"
    rb"[_-]?(?:here|key|token|secret|password|value)?[0-9]{0,4}$"
)


def _sequence(value: bytes) -> bool:
    lowered = value.lower()
    for seq in _SEQUENCES:
        for start in range(len(seq) - 7):
            if seq[start : start + 8] in lowered:
                return True
    return False


def is_placeholder_token(body: bytes) -> bool:
    """True when a format-matched token's random part is obviously not random.

    ``body`` is the part after the fixed prefix (``hf_``, ``AKIA`` ...).
    """
    lowered = body.lower()
    if any(word in lowered for word in _STRONG_WORDS):
        return True
    if _RUN.search(body) or _sequence(body):
        return True
    return len(body) >= 16 and len(set(body)) <= 5


def is_placeholder_value(value: bytes) -> bool:
    """True when a value found by its context (``token = ...``) is not a real secret."""
    stripped = value.strip(b" \t\"'`")
    if not stripped:
        return True
    if is_placeholder_token(stripped):
        return True
    if _TEMPLATE.search(stripped) or _REFERENCE.search(stripped) or _MASK.search(stripped):
        return True
    return _STAND_IN.match(stripped) is not None
