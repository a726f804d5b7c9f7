"""Bearer tokens: a bad token never reaches a backend; HS256 and RS256 both verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sample_services.gateway.settings import DEV_JWT_SECRET
from tests.sample_services.gateway.conftest import Fleet, bearer, make_token

STOCK = {"sku": "S1", "available": 5, "reserved": 0, "sold": 0, "received": 5}
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs256"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_by_hand(claims: dict[str, object], secret: bytes) -> str:
    """What an attacker builds: PyJWT itself refuses to HMAC-sign with a PEM key."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "client-a", "iat": now, "exp": now + 300, **extra}


def _stocked(fleet: Fleet) -> Fleet:
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, STOCK)
    return fleet


def _assert_401_without_backend_call(fleet: Fleet, headers: dict[str, str]) -> None:
    response = fleet.gateway.get("/api/stock/S1", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"
    assert fleet.calls() == 0


def test_valid_hs256_token_reaches_the_backend(fleet: Fleet) -> None:
    response = _stocked(fleet).gateway.get("/api/stock/S1", headers=bearer())
    assert response.status_code == 200, response.text
    assert response.json() == STOCK
    assert [c.path for c in fleet.backends["inventory"].calls] == ["/stock/S1"]
    # The gateway terminates authentication: backends never see the caller's token.
    assert "authorization" not in fleet.backends["inventory"].calls[0].headers


def _no_exp() -> str:
    return jwt.encode({"sub": "client-a"}, DEV_JWT_SECRET, algorithm="HS256")


BAD_TOKENS: dict[str, Callable[[], dict[str, str]]] = {
    "missing header": dict,
    "basic scheme": lambda: {"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
    "empty bearer": lambda: {"Authorization": "Bearer "},
    "garbage": lambda: {"Authorization": "Bearer not.a.jwt"},
    "other secret": lambda: bearer(key=OTHER_SECRET),
    "expired": lambda: bearer(make_token({"exp": int(time.time()) - 60})),
    "no exp": lambda: bearer(_no_exp()),
    "other hmac alg": lambda: bearer(algorithm="HS512"),
    "alg none": lambda: bearer(jwt.encode(_claims(), "", algorithm="none")),
    "no client": lambda: bearer(make_token({"sub": None})),
    "tampered": lambda: bearer(make_token()[:-4] + "AAAA"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_tokens_get_401_before_any_backend_call(fleet: Fleet, case: str) -> None:
    _assert_401_without_backend_call(_stocked(fleet), BAD_TOKENS[case]())


def test_invalid_token_challenge_names_the_error(fleet: Fleet) -> None:
    response = fleet.gateway.get("/api/stock/S1", headers=bearer(key=OTHER_SECRET))
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_401_comes_before_body_parsing_and_validation(fleet: Fleet) -> None:
    response = fleet.gateway.post(
        "/api/orders",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Idempotency-Key": "k1"},
    )
    assert response.status_code == 401
    assert fleet.calls() == 0


def test_the_bearer_scheme_is_case_insensitive(fleet: Fleet) -> None:
    token = make_token()
    response = _stocked(fleet).gateway.get(
        "/api/stock/S1", headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 200


def test_client_id_claim_names_the_client_when_sub_is_absent(
    fleet_factory: Callable[..., Fleet],
) -> None:
    fleet = _stocked(fleet_factory(rate_limit_burst=1))
    token = make_token({"sub": None, "client_id": "svc-x"})
    assert fleet.gateway.get("/api/stock/S1", headers=bearer(token)).status_code == 200
    # Same client, bucket of one: the second call is limited, so the claim was the key.
    assert fleet.gateway.get("/api/stock/S1", headers=bearer(token)).status_code == 429


class TestIssuerAndAudience:
    @pytest.fixture
    def fleet(self, fleet_factory: Callable[..., Fleet]) -> Fleet:
        return _stocked(fleet_factory(jwt_issuer="https://issuer.test", jwt_audience="fleet"))

    def test_matching_iss_and_aud_pass(self, fleet: Fleet) -> None:
        token = make_token({"iss": "https://issuer.test", "aud": "fleet"})
        assert fleet.gateway.get("/api/stock/S1", headers=bearer(token)).status_code == 200

    @pytest.mark.parametrize(
        "claims",
        [
            {"iss": "https://evil.test", "aud": "fleet"},
            {"iss": "https://issuer.test", "aud": "other"},
            {"aud": "fleet"},
            {"iss": "https://issuer.test"},
        ],
        ids=["wrong-iss", "wrong-aud", "no-iss", "no-aud"],
    )
    def test_mismatch_or_absence_is_401(self, fleet: Fleet, claims: dict[str, str]) -> None:
        _assert_401_without_backend_call(fleet, bearer(make_token(claims)))


def test_aud_is_ignored_when_no_audience_is_configured(fleet: Fleet) -> None:
    token = make_token({"aud": "someone-else"})
    assert _stocked(fleet).gateway.get("/api/stock/S1", headers=bearer(token)).status_code == 200


# --- RS256 ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("keys")
    private = folder / "jwt.key"
    public = folder / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, private, public


@pytest.fixture
def rs_fleet(
    fleet_factory: Callable[..., Fleet], rsa_keys: tuple[rsa.RSAPrivateKey, Path, Path]
) -> Fleet:
    _, private, public = rsa_keys
    return _stocked(
        fleet_factory(
            jwt_algorithm="RS256",
            jwt_public_key_file=public,
            jwt_private_key_file=private,
            enable_token_issuer=True,
        )
    )


def test_rs256_token_verifies_with_the_public_key(
    rs_fleet: Fleet, rsa_keys: tuple[rsa.RSAPrivateKey, Path, Path]
) -> None:
    token = make_token(key=rsa_keys[0], algorithm="RS256")
    response = rs_fleet.gateway.get("/api/stock/S1", headers=bearer(token))
    assert response.status_code == 200, response.text


def test_rs256_gateway_refuses_hs256_tokens(
    rs_fleet: Fleet, rsa_keys: tuple[rsa.RSAPrivateKey, Path, Path]
) -> None:
    # Algorithm confusion: HMAC keyed with the (public) PEM must not verify.
    forged = _hs256_by_hand(_claims(), rsa_keys[2].read_bytes())
    _assert_401_without_backend_call(rs_fleet, bearer(forged))
    _assert_401_without_backend_call(rs_fleet, bearer())  # the dev HS256 secret


def test_rs256_gateway_refuses_tokens_from_another_key(rs_fleet: Fleet) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _assert_401_without_backend_call(rs_fleet, bearer(key=stranger, algorithm="RS256"))


def test_rs256_issuer_signs_tokens_the_gateway_accepts(rs_fleet: Fleet) -> None:
    issued = rs_fleet.gateway.post("/auth/token", json={"client_id": "svc-1"})
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert rs_fleet.gateway.get("/api/stock/S1", headers=bearer(token)).status_code == 200


def test_rs256_readiness_fails_when_the_key_file_becomes_unusable(
    fleet_factory: Callable[..., Fleet],
    rsa_keys: tuple[rsa.RSAPrivateKey, Path, Path],
    tmp_path: Path,
) -> None:
    public = tmp_path / "jwt.pub"
    public.write_bytes(rsa_keys[2].read_bytes())
    fleet = fleet_factory(jwt_algorithm="RS256", jwt_public_key_file=public)
    assert fleet.gateway.get("/readyz").status_code == 200
    public.unlink()
    response = fleet.gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["verification_key"].startswith("error")
    assert fleet.gateway.get("/healthz").status_code == 200


def test_rs256_without_a_public_key_refuses_to_start() -> None:
    from pydantic import ValidationError

    from sample_services.gateway.settings import GatewaySettings

    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEY_FILE"):
        GatewaySettings(jwt_algorithm="RS256")
