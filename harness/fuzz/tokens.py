"""Bad bearer tokens for the auth conformance check: each one a service must refuse.

From the good token the run already has (its claims are reused, so only the one thing a
variant breaks differs) and, when fuzz.yaml gives one, the service's own signing key
(``auth.signing``): without the key, an expired token or one for another audience cannot
be made, and those variants are reported as not checked rather than skipped silently.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.fuzz.errors import AuthError
from harness.fuzz.settings import SigningSpec

WRONG_AUDIENCE = "harness-wrong-audience"
WRONG_ISSUER = "https://harness-wrong-issuer.invalid"

# The variants, in the order they are sent; every one must get 401 but missing_scope (403).
VARIANTS = (
    "no_credentials",
    "malformed",
    "wrong_key",
    "alg_none",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "missing_scope",
)


@dataclass(frozen=True)
class TokenVariant:
    name: str
    authorization: str | None  # the Authorization header; None: none is sent
    expect: int  # 401, or 403 for a valid token without a scope the operation needs

    def headers(self) -> dict[str, str]:
        return {} if self.authorization is None else {"Authorization": self.authorization}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_claims(token: str | None) -> dict[str, Any] | None:
    """The claims of a JWT, unverified (None when the token is not a JWT)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return dict(claims)


def signing_key(spec: SigningSpec, env: Mapping[str, str], root: Path) -> Any:
    """The service's signing key, from its environment in the fuzz fleet."""
    if spec.key_env is not None:
        secret = env.get(spec.key_env)
        if not secret:
            raise AuthError(
                f"auth.signing.key_env: {spec.key_env} is not set in the service's environment "
                "(set it in the manifest or in fuzz.yaml's env for the service)"
            )
        return secret
    assert spec.key_file_env is not None  # enforced by SigningSpec.problems
    value = env.get(spec.key_file_env)
    if not value:
        raise AuthError(
            f"auth.signing.key_file_env: {spec.key_file_env} is not set in the service's "
            "environment"
        )
    path = Path(value)
    path = path if path.is_absolute() else root / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuthError(f"auth.signing.key_file_env: {spec.key_file_env}: {exc}") from exc


class TokenForge:
    """Makes the variants of one service's good token."""

    def __init__(
        self,
        good: str | None,
        *,
        signing: SigningSpec | None = None,
        key: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.good = good
        self.signing = signing
        self.key = key
        self.clock = clock
        claims = unverified_claims(good)
        self._claims = claims or {"sub": "harness-fuzz"}
        header = jwt.get_unverified_header(good) if good and claims else {}
        self.algorithm = signing.algorithm if signing else str(header.get("alg", "HS256"))
        self._wrong_key: Any = None

    @property
    def can_sign(self) -> bool:
        return self.signing is not None and self.key is not None

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(self.clock())
        ttl = self.signing.ttl if self.signing else 300
        claims = {**self._claims, "iat": now, "exp": now + ttl}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self.key, algorithm=self.algorithm)

    def signed_good(self) -> str | None:
        """A good token signed by the harness: the control that proves the key is right."""
        return self.sign(self.claims()) if self.can_sign else None

    def _wrong(self) -> Any:
        if self._wrong_key is None:
            if self.algorithm.startswith("RS"):
                self._wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            else:
                self._wrong_key = secrets.token_urlsafe(48)
        return self._wrong_key

    def variant(self, name: str, scopes: list[str] | None = None) -> TokenVariant | str:
        """The variant, or why it cannot be made here."""
        if name == "no_credentials":
            return TokenVariant(name, None, 401)
        if name == "malformed":
            return TokenVariant(name, "Bearer harness.malformed-token", 401)
        if name == "wrong_key":
            token = jwt.encode(self.claims(), self._wrong(), algorithm=self.algorithm)
            return TokenVariant(name, f"Bearer {token}", 401)
        if name == "alg_none":
            header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            payload = _b64(json.dumps(self.claims()).encode())
            return TokenVariant(name, f"Bearer {header}.{payload}.", 401)
        if not self.can_sign:
            return "no signing key configured (auth.signing in fuzz.yaml)"
        assert self.signing is not None
        if name == "expired":
            now = int(self.clock())
            past = now - self.signing.expired_by
            claims = self.claims(iat=past - self.signing.ttl, exp=past)
            return TokenVariant(name, f"Bearer {self.sign(claims)}", 401)
        if name == "wrong_audience":
            return TokenVariant(name, f"Bearer {self.sign(self.claims(aud=WRONG_AUDIENCE))}", 401)
        if name == "wrong_issuer":
            return TokenVariant(name, f"Bearer {self.sign(self.claims(iss=WRONG_ISSUER))}", 401)
        if name == "missing_scope":
            if not scopes:
                return "the operation needs no scope"
            claim = self.signing.scope_claim
            held = str(self._claims.get(claim, "")).split()
            kept = " ".join(s for s in held if s not in scopes)
            claims = self.claims(**{claim: kept, "scopes": None})
            return TokenVariant(name, f"Bearer {self.sign(claims)}", 403)
        raise ValueError(f"unknown token variant {name!r}")
