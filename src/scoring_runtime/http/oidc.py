"""OIDC bearer tokens: JWTs signed by the issuer's published keys.

Kept apart from `scoring_runtime.http.auth` so PyJWT and cryptography are imported only by servers that
configure OIDC.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import jwt

from scoring_runtime.core.errors import ConfigError

_ALGORITHMS = ["RS256", "ES256"]


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
