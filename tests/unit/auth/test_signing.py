"""Signed media URLs: a forged signature is refused with 403, whatever characters it holds."""

from __future__ import annotations

import time

import pytest

from app.auth.signing import sign, verify
from app.errors import Forbidden


def test_a_valid_signature_passes() -> None:
    expires = int(time.time()) + 60
    verify("secret", "CONTENT:p:m", expires, sign("secret", "CONTENT:p:m", expires))


@pytest.mark.parametrize("signature", ["0" * 64, "", "é" * 64, "Ê񈪎"])
def test_a_wrong_signature_is_forbidden(signature: str) -> None:
    with pytest.raises(Forbidden, match="invalid link signature"):
        verify("secret", "CONTENT:p:m", int(time.time()) + 60, signature)
