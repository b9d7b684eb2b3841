"""Masking operators: determinism, key separation, format preservation, reserved ranges."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.masking.keys import MaskKey
from mlwarden.masking.operators import (
    CardSurrogate,
    GeneraliseDate,
    GeneraliseZip,
    PartialMask,
    PhoneSurrogate,
    Pseudonym,
    Redact,
    luhn_check_digit,
    luhn_valid,
)
from mlwarden.masking.safe_harbor import RESTRICTED_ZIP3


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _shape(text: str) -> str:
    """Digits become 9: two values have the same shape when only their digits differ."""
    return re.sub(r"\d", "9", text)


# -- redact and partial ---------------------------------------------------------------------


def test_redact_names_the_entity_or_uses_a_fixed_token() -> None:
    assert Redact("email").apply("a@b.io") == "[REDACTED:email]"
    assert Redact().apply("anything") == "[REDACTED]"
    assert Redact("email", token="<gone>").apply("a@b.io") == "<gone>"


def test_partial_mask_keeps_separators_and_the_last_four() -> None:
    assert PartialMask().apply("123-45-6789") == "***-**-6789"
    assert PartialMask(keep_first=2, keep_last=0).apply("AB12 3456") == "AB** ****"
    assert PartialMask(mask_char="#").apply("4111 1111 1111 1111") == "#### #### #### 1111"


def test_partial_mask_never_reveals_most_of_a_short_value() -> None:
    assert PartialMask().apply("1234") == "****"
    assert PartialMask().apply("12-345") == "**-***"
    assert PartialMask().apply("12345678") == "****5678"


def test_partial_mask_rejects_a_mask_char_that_looks_like_data() -> None:
    with pytest.raises(ValueError):
        PartialMask(mask_char="0")


# -- pseudonyms ------------------------------------------------------------------------------


def test_pseudonym_is_deterministic_and_recognisable(key: MaskKey) -> None:
    first = Pseudonym(key).apply("alice@example.com")
    again = Pseudonym(MaskKey(key.secret)).apply("alice@example.com")
    assert first == again
    assert re.fullmatch(r"tok_[a-z2-7]{26}", first)
    assert "alice" not in first


def test_pseudonyms_of_different_values_differ(key: MaskKey) -> None:
    op = Pseudonym(key)
    values = [f"user{i}@example.com" for i in range(2000)]
    assert len({op.apply(v) for v in values}) == len(values)


def test_different_keys_give_unrelated_pseudonyms(key: MaskKey, other_key: MaskKey) -> None:
    a = Pseudonym(key).apply("alice@example.com")
    b = Pseudonym(other_key).apply("alice@example.com")
    assert a != b
    # Unrelated, not merely different: no shared prefix beyond chance.
    assert a[4:10] != b[4:10]


def test_pseudonym_options(key: MaskKey) -> None:
    plain = Pseudonym(key)
    folded = Pseudonym(key, normalize="casefold")
    assert plain.apply("Alice@Example.com") != plain.apply("alice@example.com")
    assert folded.apply("Alice@Example.com ") == folded.apply("alice@example.com")
    digits = Pseudonym(key, normalize="digits")
    assert digits.apply("123-45-6789") == digits.apply("123 45 6789")
    assert Pseudonym(key, domain="claims").apply("42") != plain.apply("42")
    short = Pseudonym(key, prefix="mem_", length=8).apply("42")
    assert re.fullmatch(r"mem_[a-z2-7]{13}", short)


def test_pseudonym_never_uses_the_raw_key(key: MaskKey) -> None:
    import base64
    import hashlib
    import hmac

    raw = hmac.new(key.secret, b"\0\0\0\0alice", hashlib.sha256).digest()[:16]
    naive = "tok_" + base64.b32encode(raw).decode().rstrip("=").lower()
    assert Pseudonym(key).apply("alice") != naive


# -- card surrogates -------------------------------------------------------------------------


def _luhn_pan(prefix: str, length: int, body: str) -> str:
    payload = (prefix + body)[: length - 1]
    return payload + str(luhn_check_digit(payload))


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["4", "51", "55", "34", "37", "6011", "35"]))
    length = draw(st.sampled_from([13, 15, 16, 19]))
    body = draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    pan = _luhn_pan(prefix, length, body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(pan[i : i + 4] for i in range(0, len(pan), 4))


@settings(max_examples=200, deadline=None)
@given(card_numbers())
def test_card_surrogate_keeps_shape_and_brand_and_fails_luhn(card: str) -> None:
    op = CardSurrogate(MaskKey(bytes(range(32))))
    surrogate = op.apply(card)
    assert _shape(surrogate) == _shape(card)
    assert _digits(surrogate)[:2] == _digits(card)[:2]
    assert not luhn_valid(_digits(surrogate))
    assert op.apply(card) == surrogate


def test_card_surrogate_joins_across_spellings_and_separates_keys(
    key: MaskKey, other_key: MaskKey
) -> None:
    op = CardSurrogate(key)
    spaced = op.apply("4111 1111 1111 1111")
    assert _digits(op.apply("4111-1111-1111-1111")) == _digits(spaced)
    assert _digits(op.apply("4111111111111111")) == _digits(spaced)
    assert CardSurrogate(other_key).apply("4111 1111 1111 1111") != spaced
    assert op.apply("4012 8888 8888 1881") != spaced


def test_card_surrogate_pseudonymises_values_that_are_not_card_shaped(key: MaskKey) -> None:
    op = CardSurrogate(key)
    assert op.apply("call me") == Pseudonym(key).apply("call me")
    assert op.apply("4111 1111") == Pseudonym(key).apply("4111 1111")  # too short


def test_luhn_helpers_agree_with_known_numbers() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


# -- phone surrogates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["(212) 555-1234", "212-867-5309", "+1 415 555 2671", "1-646-555-0000", "312.555.7788"],
)
def test_nanp_surrogate_is_fictional_and_keeps_the_format(key: MaskKey, number: str) -> None:
    surrogate = PhoneSurrogate(key).apply(number)
    assert _shape(surrogate) == _shape(number)
    national = _digits(surrogate)[-10:]
    assert national[1] == "9" and national[0] in "23456789"  # N9X: reserved for expansion
    assert national[3:8] == "55501"  # 555-0100..0199: reserved for fiction
    parsed = phonenumbers.parse(surrogate, "US")
    assert not phonenumbers.is_valid_number(parsed)


@pytest.mark.parametrize(
    ("number", "national_prefix"),
    [("+44 20 7946 1234", "1632960"), ("020 8123 4567", "1632960"), ("07911 123456", "7700900")],
)
def test_uk_surrogate_uses_ofcom_drama_ranges(
    key: MaskKey, number: str, national_prefix: str
) -> None:
    surrogate = PhoneSurrogate(key).apply(number)
    assert _shape(surrogate) == _shape(number)
    assert _digits(surrogate)[-10:].startswith(national_prefix)
    assert not phonenumbers.is_valid_number(phonenumbers.parse(surrogate, "GB"))


@pytest.mark.parametrize(
    ("number", "prefix"),
    [
        ("001-367-207-0336", "001"),
        ("0044 20 7946 1234", "004416"),
        ("011 44 7911 123456", "011447"),
    ],
)
def test_international_exit_codes_are_read_like_a_plus(
    key: MaskKey, number: str, prefix: str
) -> None:
    surrogate = PhoneSurrogate(key).apply(number)
    assert _shape(surrogate) == _shape(number)
    assert _digits(surrogate).startswith(prefix)
    assert "555" in surrogate or "1632" in _digits(surrogate) or "7700900" in _digits(surrogate)


def test_phone_extensions_keep_their_form_with_keyed_digits(key: MaskKey) -> None:
    op = PhoneSurrogate(key)
    surrogate = op.apply("(601)989-5559x79711")
    assert _shape(surrogate) == "(999)999-9999x99999"
    assert surrogate.startswith("(") and surrogate[5:9] == "555-"
    assert not surrogate.endswith("79711")
    assert op.apply("228-590-7866 ext. 12").endswith(tuple(f"ext. {n:02d}" for n in range(100)))


def test_phone_surrogate_is_deterministic_across_spellings(key: MaskKey) -> None:
    op = PhoneSurrogate(key)
    assert _digits(op.apply("(212) 555-1234")) == _digits(op.apply("212.555.1234"))
    assert op.apply("(212) 555-1234") == PhoneSurrogate(MaskKey(key.secret)).apply("(212) 555-1234")


def test_phone_surrogate_pseudonymises_numbers_it_has_no_fictional_range_for(
    key: MaskKey,
) -> None:
    op = PhoneSurrogate(key)
    for number in ["+49 30 1234567", "1-800-FLOWERS", "012-345-6789"]:
        assert op.apply(number).startswith("tok_")


# -- generalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("1984-07-02", "1984"),
        ("02/07/1984", "1984"),
        ("2.7.1984", "1984"),
        ("July 2, 1984", "1984"),
        ("2 Jul 1984", "1984"),
        ("1984-07-02T10:22:03+02:00", "1984"),
        ("1984", "1984"),
    ],
)
def test_dates_generalise_to_their_year(value: str, year: str) -> None:
    assert GeneraliseDate().apply(value) == year


@pytest.mark.parametrize("value", ["02/07/84", "soon", "1984-2001", "", "1984-07-02 " * 10])
def test_dates_without_exactly_one_year_are_redacted(value: str) -> None:
    assert GeneraliseDate().apply(value) == "[REDACTED:date]"


def test_safe_harbor_age_cap_aggregates_old_birth_years() -> None:
    op = GeneraliseDate(max_age=89, reference_year=2026)
    assert op.apply("1937-05-01") == "1937"
    assert op.apply("1936-05-01") == "<=1936"
    assert op.apply("1901-01-01") == "<=1936"


@pytest.mark.parametrize(
    ("value", "out"),
    [("02139", "021"), ("02139-4307", "021"), ("021394307", "021"), (" 90210 ", "902")],
)
def test_zip_codes_keep_three_digits(value: str, out: str) -> None:
    assert GeneraliseZip().apply(value) == out


def test_restricted_zip_prefixes_become_000() -> None:
    op = GeneraliseZip()
    assert len(RESTRICTED_ZIP3) == 17
    for prefix in sorted(RESTRICTED_ZIP3):
        assert op.apply(prefix + "42") == "000"
    assert op.apply("03601-1234") == "000"


@pytest.mark.parametrize("value", ["2139", "ABCDE", "021391", "02139-43", "SW1A 1AA"])
def test_values_that_are_not_zip_codes_are_redacted(value: str) -> None:
    assert GeneraliseZip().apply(value) == "[REDACTED:zip]"
