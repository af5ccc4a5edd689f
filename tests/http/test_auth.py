"""The credential verifiers, with real hashes and real JWTs signed by keys made in the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import bcrypt
import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from werkzeug.security import generate_password_hash

from scoring_runtime.core.errors import ConfigError
from scoring_runtime.http.auth import PassphraseHashVerifier, PassphraseVerifier
from scoring_runtime.http.oidc import OidcVerifier

ISSUER = "https://issuer.example.com/realms/ml"
AUDIENCE = "scorer"


def test_passphrase_compares_exactly():
    verifier = PassphraseVerifier("s3cret phrase")
    assert verifier.verify("s3cret phrase")
    assert not verifier.verify("s3cret phras") and not verifier.verify("S3cret phrase") and not verifier.verify("")


@pytest.mark.parametrize(
    "encoded",
    [
        generate_password_hash("open sesame", method="pbkdf2:sha256:1000"),
        bcrypt.hashpw(b"open sesame", bcrypt.gensalt(rounds=4)).decode(),
        PasswordHasher(time_cost=1, memory_cost=1024).hash("open sesame"),
    ],
    ids=["werkzeug-pbkdf2", "bcrypt", "argon2id"],
)
def test_passphrase_hashes_in_every_accepted_encoding(encoded):
    verifier = PassphraseHashVerifier(encoded)
    assert verifier.verify("open sesame")
    assert verifier.verify("open sesame")  # remembered
    assert not verifier.verify("open sesame!") and not verifier.verify("")


def test_an_unknown_hash_encoding_is_a_configuration_error():
    with pytest.raises(ConfigError, match="SCORER_PASSPHRASE_HASH must be"):
        PassphraseHashVerifier("md5:5f4dcc3b5aa765d61d8327deb882cf99")


def _jwks(*pairs: tuple[object, str]) -> dict:
    keys = []
    for key, kid in pairs:
        jwk = json.loads(
            jwt.algorithms.get_default_algorithms()["RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"].to_jwk(
                key.public_key()
            )
        )
        keys.append({**jwk, "kid": kid, "use": "sig"})
    return {"keys": keys}


@pytest.fixture(scope="module")
def keys() -> dict:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "other": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def _token(key: object, kid: str, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "client-1", "iat": now, "exp": now + 300, **claims}
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm, headers={"kid": kid}
    )


@pytest.fixture
def jwks_file(tmp_path, keys):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks((keys["rsa"], "rsa-1"), (keys["ec"], "ec-1"))))
    return path


def test_oidc_accepts_rs256_and_es256_from_a_jwks_file(keys, jwks_file):
    verifier = OidcVerifier(ISSUER, AUDIENCE, str(jwks_file))
    assert verifier.verify(_token(keys["rsa"], "rsa-1"))
    assert verifier.verify(_token(keys["ec"], "ec-1"))


def _none_token() -> str:
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}, None, algorithm="none")


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("expired", lambda k: _token(k["rsa"], "rsa-1", exp=int(time.time()) - 10)),
        ("not yet valid", lambda k: _token(k["rsa"], "rsa-1", nbf=int(time.time()) + 600)),
        ("no expiry", lambda k: _token(k["rsa"], "rsa-1", exp=None)),
        ("wrong audience", lambda k: _token(k["rsa"], "rsa-1", aud="another-service")),
        ("wrong issuer", lambda k: _token(k["rsa"], "rsa-1", iss="https://evil.example.com")),
        ("wrong key", lambda k: _token(k["other"], "rsa-1")),
        ("unknown kid", lambda k: _token(k["rsa"], "nope")),
        ("alg none", lambda k: _none_token()),
        ("garbage", lambda k: "not.a.jwt"),
    ],
)
def test_oidc_rejects(keys, jwks_file, case, make):
    assert not OidcVerifier(ISSUER, AUDIENCE, str(jwks_file)).verify(make(keys)), case


@pytest.fixture
def jwks_server(keys) -> Iterator[tuple[str, dict]]:
    """A local JWKS endpoint whose key set the test can rotate; counts fetches."""
    state = {"jwks": _jwks((keys["rsa"], "rsa-1")), "fetches": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["fetches"] += 1
            body = json.dumps(state["jwks"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks", state
    server.shutdown()


def test_oidc_jwks_url_is_cached_and_refreshed_for_a_new_kid(keys, jwks_server):
    url, state = jwks_server
    verifier = OidcVerifier(ISSUER, AUDIENCE, url, refresh_cooldown=0)
    assert verifier.verify(_token(keys["rsa"], "rsa-1"))
    assert verifier.verify(_token(keys["rsa"], "rsa-1"))
    assert state["fetches"] == 1
    state["jwks"] = _jwks((keys["rsa"], "rsa-1"), (keys["ec"], "ec-2"))  # the issuer rotates in a key
    assert verifier.verify(_token(keys["ec"], "ec-2"))
    assert state["fetches"] == 2
    assert not verifier.verify(_token(keys["other"], "rsa-1"))


def test_unreachable_oidc_keys_are_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="OIDC keys could not be loaded"):
        OidcVerifier(ISSUER, AUDIENCE, str(tmp_path / "missing.json"))
