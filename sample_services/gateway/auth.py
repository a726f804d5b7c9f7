"""Bearer tokens: verification (HS256 or RS256) and the dev token issuer."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from sample_services.gateway.settings import GatewaySettings

# Tolerated clock skew between the issuer and this gateway when checking exp/nbf/iat.
LEEWAY_SECONDS = 5

_K = TypeVar("_K")


class AuthError(Exception):
    """The request carries no usable token; rendered as 401."""


@dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]
    claims: Mapping[str, Any]


class _PemFile(Generic[_K]):
    """A key file, re-read when it changes, so a rotated key needs no restart."""

    def __init__(self, path: Path, parse: Callable[[bytes], _K]) -> None:
        self.path = path
        self._parse = parse
        self._lock = threading.Lock()
        self._cached: tuple[int, _K] | None = None

    def get(self) -> _K:
        mtime = self.path.stat().st_mtime_ns
        with self._lock:
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, self._parse(self.path.read_bytes()))
            return self._cached[1]


def _rsa_public(pem: bytes) -> RSAPublicKey:
    key = load_pem_public_key(pem)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("JWT_PUBLIC_KEY_FILE does not hold an RSA public key")
    return key


def _rsa_private(pem: bytes) -> RSAPrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("JWT_PRIVATE_KEY_FILE does not hold an RSA private key")
    return key


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """OAuth's space-separated `scope` string, or a `scopes` list."""
    found: set[str] = set()
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.update(scope.split())
    listed = claims.get("scopes")
    if isinstance(listed, list):
        found.update(s for s in listed if isinstance(s, str))
    return frozenset(found)


class TokenVerifier:
    def __init__(self, settings: GatewaySettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._secret = settings.jwt_secret
        self._public: _PemFile[RSAPublicKey] | None = None
        if self.algorithm == "RS256":
            assert settings.jwt_public_key_file is not None  # enforced by the settings
            self._public = _PemFile(settings.jwt_public_key_file, _rsa_public)
            # Fail at start-up, not on the first request, when the key file is unusable.
            self._public.get()

    def key(self) -> str | RSAPublicKey:
        """The verification key; raises when the configured key file became unusable."""
        if self._public is not None:
            return self._public.get()
        return self._secret

    def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key(),
                # Exactly one algorithm: a token signed with HS256 using the RSA public key
                # as the secret (algorithm confusion) must not pass an RS256 gateway.
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        client = claims.get("client_id") or claims.get("sub")
        if not isinstance(client, str) or not client:
            raise AuthError("invalid token: it names no client (sub or client_id)")
        return Principal(client_id=client, scopes=_scopes(claims), claims=claims)


class TokenIssuer:
    """Signs tokens for development and tests; mounted only with ENABLE_TOKEN_ISSUER=1."""

    def __init__(self, settings: GatewaySettings, clock: Callable[[], float] = time.time) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.ttl = settings.jwt_ttl
        self._clock = clock
        self._key: str | RSAPrivateKey = settings.jwt_secret
        if self.algorithm == "RS256":
            assert settings.jwt_private_key_file is not None  # enforced by the settings
            self._key = _rsa_private(settings.jwt_private_key_file.read_bytes())

    def issue(self, client_id: str, scopes: list[str]) -> str:
        now = int(self._clock())
        claims: dict[str, Any] = {
            "sub": client_id,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        return jwt.encode(claims, self._key, algorithm=self.algorithm)
