"""Status callbacks: the requester's URLs hear of every status change, signed.

The body is OpenDSR's status body; `X-OpenDSR-Signature` is the hex HMAC-SHA256 of the exact
body bytes under `governance.callback_signing_key` (OpenDSR signs with an RSA certificate; a
shared key is what our requesters can verify without a PKI), `X-OpenDSR-Processor-Domain` the
controller id. Delivery retries transient failures a few times; a callback that still fails is
recorded in the request's history, never fails the request. No key configured: none is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import httpx
import orjson
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from lakecdp.governance.requests import PrivacyRequest
from lakecdp.kernel.config import ProjectConfig

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-OpenDSR-Signature"


def sign(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


@retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.2, max=2),
    reraise=True,
)
def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    response.raise_for_status()


def send_status(config: ProjectConfig, request: PrivacyRequest) -> list[str]:
    """POST the request's status to its callback URLs; returns the failures (for its history)."""
    key = config.governance.callback_signing_key.get_secret_value()
    if not key or not request.callback_urls:
        return []
    body = orjson.dumps(request.status_body(config.governance.controller_id))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(key, body),
        "X-OpenDSR-Processor-Domain": config.governance.controller_id,
    }
    failures = []
    for url in request.callback_urls:
        try:
            _post(url, body, headers)
        except (httpx.HTTPError, OSError) as exc:
            log.warning("status callback of request %s failed: %s", request.request_id, exc)
            failures.append(f"callback failed: {type(exc).__name__}")
    return failures
