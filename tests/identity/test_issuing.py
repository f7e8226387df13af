"""Signing keys, workload tokens and their renewal, on a virtual clock (roost.clock): no
server, no waiting — 15-minute lifetimes are checked by moving time by hand."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from roost.clock import VirtualClock
from roost.identity import (
    TOKEN_LIFETIME,
    KeyStore,
    KeyStoreError,
    Workload,
    default_audience,
    due,
    issue,
    openid_configuration,
)
from roost.identity.keys import ROTATION_NOTICE, VERIFY_LEEWAY

ISSUER = "https://roost.example.test:7443"
WEB = Workload("shop", "prod", "web", "web-r3")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def keys(tmp_path: Path, clock: VirtualClock) -> KeyStore:
    return KeyStore(tmp_path / "identity", clock=clock, token_lifetime=TOKEN_LIFETIME)


def _verify(token: str, store: KeyStore, *, audience: str) -> dict[str, object]:
    """Verify as an outside verifier does: the key by kid from the JWKS, then the claims. The
    virtual clock's date is not today's, so expiry is checked by the tests themselves."""
    kid = jwt.get_unverified_header(token)["kid"]
    found = [k for k in store.jwks()["keys"] if k["kid"] == kid]
    assert found, f"kid {kid} is not in the JWKS"
    key = jwt.PyJWK.from_dict(found[0])
    claims: dict[str, object] = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=audience,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


def test_the_first_key_is_made_once_private_to_its_owner(keys: KeyStore) -> None:
    first = keys.signing_key()
    assert keys.signing_key().kid == first.kid
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.directory.stat().st_mode) == 0o700
    jwks = keys.jwks()["keys"]
    assert [k["kid"] for k in jwks] == [first.kid]
    assert jwks[0]["alg"] == "ES256"
    assert jwks[0]["use"] == "sig"
    assert "d" not in jwks[0], "the JWKS must never carry the private key"
    assert "PRIVATE" not in repr(first)


def test_a_token_names_issuer_subject_audience_and_lasts_15_minutes(
    keys: KeyStore, clock: VirtualClock
) -> None:
    token = issue(
        keys.signing_key(), issuer=ISSUER, workload=WEB, audience=["svc-b"], now=clock.now()
    )
    claims = _verify(token.token, keys, audience="svc-b")
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "shop/prod/web/web-r3"
    assert claims["aud"] == "svc-b"
    assert claims["iat"] == claims["nbf"] == int(clock.now().timestamp())
    assert claims["exp"] == claims["iat"] + 15 * 60  # type: ignore[operator]
    assert claims["jti"] == token.jti
    assert claims["roost"] == {
        "project": "shop",
        "environment": "prod",
        "service": "web",
        "revision": "web-r3",
    }
    assert jwt.get_unverified_header(token.token)["kid"] == token.kid
    again = issue(
        keys.signing_key(), issuer=ISSUER, workload=WEB, audience=["svc-b"], now=clock.now()
    )
    assert again.jti != token.jti, "every token is unique"
    assert token.token not in repr(token)
    with pytest.raises(jwt.InvalidAudienceError):
        _verify(token.token, keys, audience="someone-else")


def test_several_audiences_and_the_default(keys: KeyStore, clock: VirtualClock) -> None:
    token = issue(
        keys.signing_key(), issuer=ISSUER, workload=WEB, audience=["a", "b"], now=clock.now()
    )
    assert _verify(token.token, keys, audience="b")["aud"] == ["a", "b"]
    assert default_audience("shop") == "roost:shop"
    with pytest.raises(ValueError, match="audience"):
        issue(keys.signing_key(), issuer=ISSUER, workload=WEB, audience=[], now=clock.now())


def test_renewal_is_due_at_two_thirds_of_the_lifetime(keys: KeyStore, clock: VirtualClock) -> None:
    api = Workload("shop", "prod", "api", "api-r1")
    wanted = {WEB: ("svc-b",), api: ("roost:shop",)}
    assert due(wanted, {}, now=clock.now()) == [api, WEB]  # none issued yet: all, sorted
    issued = {
        w: issue(keys.signing_key(), issuer=ISSUER, workload=w, audience=a, now=clock.now())
        for w, a in wanted.items()
    }
    assert due(wanted, issued, now=clock.now()) == []
    clock.advance(10 * 60 - 1)
    assert due(wanted, issued, now=clock.now()) == []
    clock.advance(1)  # 10 of 15 minutes
    assert due(wanted, issued, now=clock.now()) == [api, WEB]
    # roost.yaml changed the audience: a new token at once, whatever the old one's age.
    assert due(
        {WEB: ("svc-c",)},
        {
            WEB: issue(
                keys.signing_key(), issuer=ISSUER, workload=WEB, audience=["svc-b"], now=clock.now()
            )
        },
        now=clock.now(),
    ) == [WEB]


def test_rotation_publishes_first_and_keeps_the_old_key_until_its_tokens_expired(
    keys: KeyStore, clock: VirtualClock
) -> None:
    old = keys.signing_key()
    new, retired = keys.rotate()
    assert retired is not None
    assert retired.kid == old.kid
    assert new.kid != old.kid
    # Published at once, signing only after the notice: verifiers that cache the key set
    # (and fetch it again for an unknown kid only so often) know it before they meet it.
    assert {k["kid"] for k in keys.jwks()["keys"]} == {old.kid, new.kid}
    assert new.signs_from == clock.now() + ROTATION_NOTICE
    clock.advance(ROTATION_NOTICE.total_seconds() - 1)
    last_by_old = issue(
        keys.signing_key(), issuer=ISSUER, workload=WEB, audience=["x"], now=clock.now()
    )
    assert last_by_old.kid == old.kid, "the old key signs until the notice has passed"
    clock.advance(1)
    assert keys.signing_key().kid == new.kid, "the new key signs from now on"
    # The old key's private half is gone from the file: it can verify, never sign again.
    entries = json.loads(keys.path.read_text())["keys"]
    assert [e["kid"] for e in entries if "private_pem" in e] == [new.kid]
    # Its last token still verifies until it expires, and the key stays published that long.
    assert _verify(last_by_old.token, keys, audience="x")["sub"] == WEB.subject
    assert retired.verify_until == clock.now() + TOKEN_LIFETIME + VERIFY_LEEWAY
    assert retired.verify_until >= last_by_old.expires_at
    clock.advance((TOKEN_LIFETIME + VERIFY_LEEWAY).total_seconds() - 1)
    assert old.kid in {k["kid"] for k in keys.jwks()["keys"]}
    clock.advance(1)
    assert {k["kid"] for k in keys.jwks()["keys"]} == {new.kid}
    with pytest.raises(AssertionError, match="not in the JWKS"):
        _verify(last_by_old.token, keys, audience="x")
    # The next rotation drops it from the file too.
    newer, retired_again = keys.rotate()
    assert retired_again is not None
    assert retired_again.kid == new.kid
    assert [e["kid"] for e in json.loads(keys.path.read_text())["keys"]] == [new.kid, newer.kid]


def test_an_immediate_rotation_signs_with_the_new_key_at_once(
    keys: KeyStore, clock: VirtualClock
) -> None:
    old = keys.signing_key()
    new, retired = keys.rotate(notice=timedelta(0))
    assert keys.signing_key().kid == new.kid != old.kid
    assert retired is not None
    assert retired.verify_until == clock.now() + TOKEN_LIFETIME + VERIFY_LEEWAY


def test_a_rotation_by_another_process_is_seen(tmp_path: Path, clock: VirtualClock) -> None:
    serving = KeyStore(tmp_path / "identity", clock=clock, token_lifetime=TOKEN_LIFETIME)
    first = serving.signing_key()
    rotating = KeyStore(tmp_path / "identity", clock=clock, token_lifetime=TOKEN_LIFETIME)
    new, _ = rotating.rotate(notice=timedelta(0))
    assert serving.signing_key().kid == new.kid != first.kid


def test_a_foreign_key_with_a_known_kid_does_not_verify(
    keys: KeyStore, clock: VirtualClock
) -> None:
    real = keys.signing_key()
    foreign = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(
        {"iss": ISSUER, "sub": WEB.subject, "aud": "x", "exp": 2**31},
        foreign,
        algorithm="ES256",
        headers={"kid": real.kid},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(forged, keys, audience="x")


def test_a_damaged_key_file_is_one_clear_error(keys: KeyStore) -> None:
    keys.signing_key()
    keys.path.write_text("{not json")
    with pytest.raises(KeyStoreError, match="damaged") as raised:
        keys.jwks()
    assert raised.value.hint


def test_discovery_points_at_the_jwks() -> None:
    doc = openid_configuration(ISSUER + "/")
    assert doc["issuer"] == ISSUER
    assert doc["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]


def test_a_key_file_others_can_read_is_refused(keys: KeyStore) -> None:
    keys.signing_key()
    keys.path.chmod(0o644)
    with pytest.raises(KeyStoreError, match="readable by others") as raised:
        keys.signing_key()
    assert "rotate-key --immediately" in str(raised.value.hint)
    keys.path.chmod(0o600)
    keys.rotate(notice=timedelta(0))  # the way out the hint names
    assert len(keys.jwks()["keys"]) == 2
