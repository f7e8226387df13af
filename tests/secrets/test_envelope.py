"""Envelope encryption: each value under its own data key, bound to its name and version."""

from __future__ import annotations

import os

import pytest

from roost.secrets import SealingError, open_value, seal_value
from roost.secrets.envelope import Sealed

KEK = os.urandom(32)


def test_a_sealed_value_opens_only_with_its_kek_and_context() -> None:
    sealed = seal_value(KEK, "hunter2", kek_id="k1", context="db\x001")
    assert "hunter2" not in sealed.ciphertext + sealed.wrapped_key
    assert open_value(KEK, sealed, context="db\x001") == "hunter2"
    with pytest.raises(SealingError):
        open_value(os.urandom(32), sealed, context="db\x001")
    # Copied into another name's (or version's) row, it does not open.
    with pytest.raises(SealingError):
        open_value(KEK, sealed, context="db\x002")
    # Nor when claimed to be wrapped under another KEK id.
    with pytest.raises(SealingError):
        open_value(KEK, Sealed(sealed.ciphertext, sealed.wrapped_key, "k2"), context="db\x001")


def test_every_seal_has_a_fresh_data_key_and_nonce() -> None:
    one = seal_value(KEK, "same", kek_id="k1", context="c")
    two = seal_value(KEK, "same", kek_id="k1", context="c")
    assert one.ciphertext != two.ciphertext
    assert one.wrapped_key != two.wrapped_key
    assert "same" not in repr(one)
