"""API keys by caller, with scopes: the lock on every HTTP API that reads or changes a person.

A key comes as `Authorization: Bearer <key>` or `X-API-Key: <key>`. No key or an unknown one is
401 (with `WWW-Authenticate`), a known key without the route's scope 403; the caller's name (never
the key) is what audit records keep. Keys are compared in constant time, against every
configured key, so timing does not tell how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lakecdp.kernel.config import ApiKey

# Both ways appear in the OpenAPI schema (and /docs' "Authorize" button).
BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]


def authenticate(keys: Sequence[ApiKey], presented: str | None) -> Caller | None:
    """The caller a key belongs to, or None. Every configured key is compared."""
    found: Caller | None = None
    given = (presented or "").encode()
    for grant in keys:
        if hmac.compare_digest(grant.key.get_secret_value().encode(), given) and presented:
            found = Caller(grant.caller, frozenset(grant.scopes))
    return found


def require_scope(keys: Sequence[ApiKey], scope: str) -> Callable[[Request], Caller]:
    """A FastAPI dependency: the request's caller, if its key carries `scope`."""

    def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(BEARER),  # noqa: B008
        api_key: str | None = Depends(API_KEY_HEADER),
    ) -> Caller:
        caller = authenticate(keys, bearer.credentials if bearer else api_key)
        if caller is None:
            raise HTTPException(
                401,
                "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if scope not in caller.scopes:
            raise HTTPException(403, f"caller {caller.name!r} lacks the scope {scope!r}")
        request.state.caller = caller.name
        return caller

    return dependency
