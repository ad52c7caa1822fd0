from __future__ import annotations

import jwt
import pytest

from jobcast import JobcastError, sign_job_token

SECRET = "a-test-secret-that-is-long-enough-for-hs256!"


def test_signs_the_claims_of_sign_job_token() -> None:
    token = sign_job_token(["export-42", "user-9:*"], "15m", SECRET, sub="u9", aud="jobcast", iss="app", kid="k1", not_before_in=5, now=1000)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="jobcast", options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    assert claims == {"jobs": ["export-42", "user-9:*"], "iat": 1000, "exp": 1900, "nbf": 1005, "sub": "u9", "aud": "jobcast", "iss": "app"}


@pytest.mark.parametrize(
    "jobs, expires_in, secret, pattern",
    [
        ([], "15m", SECRET, "jobs is empty"),
        (["user-*"], "15m", SECRET, r'"user-\*" is neither a job id nor a prefix pattern'),
        (["a b"], 60, SECRET, "neither a job id"),
        (["x"], "15 minutes", SECRET, "expires_in must be"),
        (["x"], 0, SECRET, "expires_in must be"),
        (["x"], 60, "short", "the secret is 5 bytes, HS256 needs at least 32"),
    ],
)
def test_refuses_what_the_gateway_would_refuse(jobs: list, expires_in: object, secret: str, pattern: str) -> None:
    with pytest.raises(JobcastError, match=pattern) as raised:
        sign_job_token(jobs, expires_in, secret)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_config"
