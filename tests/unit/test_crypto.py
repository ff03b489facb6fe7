"""TokenCipher: Fernet with rotation; anything it can't open is an UnreadableRecord that names no secret."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.store.crypto import TokenCipher, UnreadableRecord

SECRET = "1//0-refresh-token-that-must-stay-secret"


def test_round_trip_of_text_and_bytes_and_ciphertext_hides_the_plaintext() -> None:
    cipher = TokenCipher([Fernet.generate_key()])
    sealed = cipher.encrypt(SECRET)
    assert SECRET.encode() not in sealed
    assert cipher.decrypt(sealed) == SECRET.encode()
    assert cipher.decrypt(cipher.encrypt(b"\x00raw")) == b"\x00raw"
    assert cipher.encrypt(SECRET) != sealed  # random IV: equal secrets don't look equal at rest


@pytest.mark.parametrize("garbage", [b"", b"not fernet", b"gAAAAAB" + b"A" * 80, b"\xff\xfe"])
def test_corrupt_data_is_unreadable_and_the_error_names_no_data(garbage: bytes) -> None:
    cipher = TokenCipher([Fernet.generate_key()])
    with pytest.raises(UnreadableRecord) as caught:
        cipher.decrypt(garbage)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    text = garbage.decode(errors="ignore")
    if text:
        assert text not in str(caught.value)


def test_a_flipped_byte_is_detected() -> None:
    cipher = TokenCipher([Fernet.generate_key()])
    sealed = bytearray(cipher.encrypt(SECRET))
    sealed[40] ^= 0x01
    with pytest.raises(UnreadableRecord):
        cipher.decrypt(bytes(sealed))


def test_a_removed_key_makes_old_records_unreadable() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = TokenCipher([old]).encrypt(SECRET)
    with pytest.raises(UnreadableRecord):
        TokenCipher([new]).decrypt(sealed)
    with pytest.raises(UnreadableRecord):
        TokenCipher([new]).rotate(sealed)


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = TokenCipher([old]).encrypt(SECRET)
    both = TokenCipher([new, old])
    assert both.decrypt(sealed) == SECRET.encode()
    rotated = both.rotate(sealed)
    assert TokenCipher([new]).decrypt(rotated) == SECRET.encode()
    assert TokenCipher([new]).decrypt(both.encrypt(SECRET)) == SECRET.encode()


def test_no_keys_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        TokenCipher([])
