"""Who may call the scoring routes: a passphrase, only its hash, or OIDC-signed JWTs.

Credentials are checked with well-kept libraries (hashlib/hmac, bcrypt, argon2-cffi, PyJWT);
comparisons are constant-time. The probes are never protected, so Kubernetes needs no secret.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio
from starlette.requests import Request

from scoring_runtime.core.errors import ConfigError, Unauthenticated
from scoring_runtime.settings import ServerSettings


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


def build_verifiers(settings: ServerSettings) -> list[Verifier]:
    verifiers: list[Verifier] = []
    if settings.passphrase:
        verifiers.append(PassphraseVerifier(settings.passphrase.get_secret_value()))
    if settings.passphrase_hash:
        verifiers.append(PassphraseHashVerifier(settings.passphrase_hash.get_secret_value()))
    if settings.oidc_issuer:
        from scoring_runtime.http.oidc import (
            OidcVerifier,  # PyJWT and cryptography cost ~20 MB per worker; only OIDC needs them
        )

        verifiers.append(OidcVerifier(settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks))
    return verifiers


def bearer_check(verifiers: list[Verifier]) -> Callable[[str], Awaitable[None]]:
    """Checks an `Authorization` header's value (HTTP's header, gRPC's metadata)."""

    async def check(header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("This server requires 'Authorization: Bearer <credential>'.")
        token = token.strip()
        for verifier in verifiers:
            blocking = verifier.blocking
            valid = await anyio.to_thread.run_sync(verifier.verify, token) if blocking else verifier.verify(token)
            if valid:
                return
        raise Unauthenticated("The bearer credential is not valid.")

    return check


def credentials_guard(verifiers: list[Verifier]) -> Callable[[Request], Awaitable[None]]:
    """The FastAPI dependency of every protected route; unknown paths never reach it (they are 404)."""
    check = bearer_check(verifiers)

    async def require_credentials(request: Request) -> None:
        await check(request.headers.get("authorization", ""))

    return require_credentials
