"""Who may call the scoring routes: a passphrase, only its hash, or OIDC-signed JWTs.

Credentials are checked with well-kept libraries (hashlib/hmac, bcrypt, argon2-cffi, PyJWT);
comparisons are constant-time. The probes are never protected, so Kubernetes needs no secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import anyio
import jwt
from starlette.requests import Request

from app.errors import ConfigError, Unauthorized
from app.settings import Settings

_ALGORITHMS = ["RS256", "ES256"]


class Verifier(Protocol):
    blocking: bool
    """True when `verify` may hash slowly or fetch keys, so it runs off the event loop."""

    def verify(self, token: str) -> bool: ...


class PassphraseVerifier:
    blocking = False

    def __init__(self, passphrase: str) -> None:
        self._digest = hashlib.sha256(passphrase.encode()).digest()

    def verify(self, token: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._digest)


class PassphraseHashVerifier:
    """Werkzeug's PBKDF2 form, bcrypt or argon2id. bcrypt and argon2 are slow on purpose, so a
    token that verified once is remembered (by its SHA-256) instead of being re-hashed per request."""

    blocking = True

    def __init__(self, encoded: str) -> None:
        self._encoded = encoded.strip()
        if not self._encoded.startswith(("pbkdf2:sha256:", "$2a$", "$2b$", "$2y$", "$argon2id$")):
            raise ConfigError(
                "SCORER_PASSPHRASE_HASH must be pbkdf2:sha256:<iterations>$<salt>$<hex>, bcrypt $2b$... or $argon2id$..."
            )
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> bool:
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if key in self._verified:
                self._verified.move_to_end(key)
                return True
        if not self._check(token):
            return False
        with self._lock:
            self._verified[key] = None
            if len(self._verified) > 64:
                self._verified.popitem(last=False)
        return True

    def _check(self, token: str) -> bool:
        encoded = self._encoded
        if encoded.startswith("pbkdf2:"):
            method, salt, expected = encoded.split("$", 2)
            iterations = int(method.split(":")[2])
            actual = hashlib.pbkdf2_hmac("sha256", token.encode(), salt.encode(), iterations).hex()
            return hmac.compare_digest(actual, expected)
        if encoded.startswith("$argon2"):
            from argon2 import PasswordHasher
            from argon2.exceptions import VerificationError

            try:
                return PasswordHasher().verify(encoded, token)
            except (VerificationError, ValueError):
                return False
        import bcrypt

        return bcrypt.checkpw(token.encode(), encoded.encode())


class OidcVerifier:
    """RS256/ES256 JWTs signed by the issuer; `iss`, `aud`, `exp` and `nbf` are enforced. A JWKS
    URL is cached and fetched again when a token names a key id it has not seen, at most once per
    `refresh_cooldown` seconds, so tokens with made-up key ids cannot hammer the issuer."""

    blocking = True

    def __init__(self, issuer: str, audience: str | None, jwks: str | None, refresh_cooldown: float = 30.0) -> None:
        self._issuer = issuer
        self._audience = audience
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        try:
            source = jwks or _discover_jwks_uri(issuer)
            if source.startswith(("http://", "https://")):
                self._client = jwt.PyJWKClient(
                    source, cache_jwk_set=True, lifespan=600, cooldown_duration=refresh_cooldown
                )
            else:
                self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(source).read_text()))
        except (OSError, ValueError, KeyError, jwt.PyJWTError) as exc:
            raise ConfigError(
                f"The OIDC keys could not be loaded ({exc}); check SCORER_OIDC_JWKS or the issuer."
            ) from exc

    def verify(self, token: str) -> bool:
        try:
            key = self._signing_key(token)
            jwt.decode(
                token,
                key,
                algorithms=_ALGORITHMS,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iss"], "verify_aud": self._audience is not None},
            )
        except (jwt.PyJWTError, KeyError, ValueError):
            return False
        return True

    def _signing_key(self, token: str) -> object:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in (self._keys.keys if self._keys else []) if kid is None or k.key_id == kid]
        if not keys:
            raise KeyError("no key with that kid")
        return keys[0].key


def _discover_jwks_uri(issuer: str) -> str:
    with urllib.request.urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10) as response:
        return json.load(response)["jwks_uri"]


def build_verifiers(settings: Settings) -> list[Verifier]:
    verifiers: list[Verifier] = []
    if settings.passphrase:
        verifiers.append(PassphraseVerifier(settings.passphrase.get_secret_value()))
    if settings.passphrase_hash:
        verifiers.append(PassphraseHashVerifier(settings.passphrase_hash.get_secret_value()))
    if settings.oidc_issuer:
        verifiers.append(OidcVerifier(settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks))
    return verifiers


async def require_credentials(request: Request) -> None:
    """FastAPI dependency of every protected route; unknown paths never reach it (they are 404)."""
    verifiers: list[Verifier] = request.app.state.verifiers
    if not verifiers:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("This server requires 'Authorization: Bearer <credential>'.")
    token = token.strip()
    for verifier in verifiers:
        valid = await anyio.to_thread.run_sync(verifier.verify, token) if verifier.blocking else verifier.verify(token)
        if valid:
            return
    raise Unauthorized("The bearer credential is not valid.")
