"""Codecs for ad platforms' matched-audience upload APIs (Meta-like and Google-like).

Fields a codec reads from `Change.fields` (names are constructor arguments; these are the
defaults): `email` and `phone`, raw or already SHA-256 hex, and `market` (ISO country code such
as "SG"), the region for phones without a country code (`default_market` when absent). Other
fields are ignored. Raw values are normalized and hashed here, per platform, through
`lakecdp.activation.pii`, so the destination never receives raw personal data; a value that is
already a 64-hex hash is sent as is (lower-cased), so it must have been hashed with the same
platform's rule.

A change with no usable identifier (both missing or invalid; or a delete whose `fields` are
empty, since removing someone from an audience needs their identifiers) is not sent: `encode`
leaves it out and `rejected` reports it with a reason. `precheck` gives the same answer before
sending. One operation per request (`one_op_per_batch`), at most `max_batch` changes; `encode`
refuses (ValueError) a larger or mixed batch rather than splitting it, because the delivery
engine already cuts batches at `max_batch` and a split here would hide a bug there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from lakecdp.activation import pii
from lakecdp.activation.changes import Change, HttpRequest

# Meta Custom Audiences: "an unlimited number of records ... but only up to 10000 at a time".
META_MAX_BATCH = 10_000
META_SCHEMA = ("EMAIL_SHA256", "PHONE_SHA256")
# Google Customer Match (OfflineUserDataJobService.AddOfflineUserDataJobOperations): at most
# 100,000 user identifiers per request; with up to two identifiers per member, 50,000 members.
# Google's API team advises about 10,000 identifiers per call for throughput: the default.
GOOGLE_MAX_BATCH = 50_000
GOOGLE_DEFAULT_BATCH = 10_000

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_MAX_REASON = 160


@dataclass(frozen=True)
class Member:
    """One change as the platform sees it: hashed identifiers only."""

    key: str
    email_sha256: str | None
    phone_sha256: str | None

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(h for h in (self.email_sha256, self.phone_sha256) if h)


def _platform_reason(text: object) -> str:
    """A receiver's message without anything that looks like a hashed identifier, bounded."""
    return _HEX64.sub("<hash>", " ".join(str(text).split()))[:_MAX_REASON]


class _AudienceCodec:
    platform: ClassVar[pii.Platform]
    hard_limit: ClassVar[int]
    one_op_per_batch: bool = True

    def __init__(
        self,
        base_url: str,
        audience_id: str,
        access_token: str,
        batch_size: int,
        *,
        default_market: str | None = None,
        email_field: str = "email",
        phone_field: str = "phone",
        market_field: str = "market",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 1 <= batch_size <= self.hard_limit:
            raise ValueError(
                f"{type(self).__name__}: batch_size must be between 1 and {self.hard_limit}"
            )
        if not audience_id:
            raise ValueError(f"{type(self).__name__}: audience_id is empty")
        self.base_url = base_url.rstrip("/")
        self.audience_id = audience_id
        self.max_batch = batch_size
        self.default_market = default_market
        self.email_field = email_field
        self.phone_field = phone_field
        self.market_field = market_field
        self._headers = {
            **(extra_headers or {}),
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
        }

    def __repr__(self) -> str:  # never the token
        return (
            f"{type(self).__name__}(audience_id={self.audience_id!r}, max_batch={self.max_batch})"
        )

    # -- identifiers ------------------------------------------------------------------------

    def member(self, change: Change) -> tuple[Member | None, str | None]:
        """The change's hashed identifiers, or None with the reason it cannot be sent."""
        fields = change.fields
        if not fields:
            return None, "no_identifiers: the change carries no fields"
        market = pii.text_of(fields.get(self.market_field)) or self.default_market
        email = pii.hash_email(pii.text_of(fields.get(self.email_field)), self.platform)
        phone = pii.hash_phone(pii.text_of(fields.get(self.phone_field)), market, self.platform)
        if email.value is None and phone.value is None:
            return None, f"no_usable_identifier (email: {email.reason}, phone: {phone.reason})"
        return Member(change.key, email.value, phone.value), None

    def removal_fields(self, change: Change) -> dict[str, str]:
        """What to keep of an accepted change so that a later delete finds the member: its
        hashes under the codec's field names (a 64-hex value is sent as is), never raw values."""
        member, _ = self.member(change)
        if member is None:
            return {}
        kept = {self.email_field: member.email_sha256, self.phone_field: member.phone_sha256}
        return {name: value for name, value in kept.items() if value}

    def members(self, changes: Sequence[Change]) -> tuple[list[Member], dict[str, str]]:
        """Sendable members in request order, and key -> reason for changes left out."""
        sendable: list[Member] = []
        refused: dict[str, str] = {}
        for change in changes:
            member, reason = self.member(change)
            if member is None:
                refused[change.key] = reason or "no_usable_identifier"
            else:
                sendable.append(member)
        return sendable, refused

    def precheck(self, changes: Sequence[Change]) -> dict[str, str]:
        """Key -> reason for the changes `encode` would leave out (no request needed)."""
        return self.members(changes)[1]

    def _check_batch(self, changes: Sequence[Change]) -> str:
        if not changes:
            raise ValueError(f"{type(self).__name__}: empty batch")
        if len(changes) > self.max_batch:
            raise ValueError(
                f"{type(self).__name__}: batch of {len(changes)} changes exceeds max_batch "
                f"{self.max_batch}"
            )
        ops = {change.op for change in changes}
        if len(ops) != 1:
            raise ValueError(f"{type(self).__name__}: a batch must hold one operation")
        return ops.pop()

    def _refused_whole(
        self, status: int, parsed: Any, sendable: list[Member], refused: dict[str, str]
    ) -> dict[str, str] | None:
        """For a non-2xx answer (the engine reads one for a single change it gave up
        splitting): the platform's error as the reason of every sent change; None on a 2xx."""
        if 200 <= status < 300:
            return None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        reason = self._error_reason(error) if isinstance(error, dict) else None
        if reason:
            for m in sendable:
                refused.setdefault(m.key, reason)
        return refused

    def _error_reason(self, error: Mapping[str, Any]) -> str | None:
        message = error.get("message")
        return _platform_reason(message) if message else None

    @staticmethod
    def _json(body: object) -> bytes:
        return json.dumps(body, separators=(",", ":")).encode()

    @staticmethod
    def _parse(body: bytes) -> Any:
        try:
            return json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            return None


class MetaAudienceCodec(_AudienceCodec):
    """Meta Custom Audiences shape: `POST {base}/{audience_id}/users` adds, `DELETE` of the same
    URL removes; body `{"payload": {"schema": [...], "data": [[email_sha256, phone_sha256]]}}`,
    a missing identifier sent as "" (the multi-key schema's rule)."""

    platform: ClassVar[pii.Platform] = "meta"
    hard_limit: ClassVar[int] = META_MAX_BATCH

    def __init__(
        self,
        base_url: str,
        audience_id: str,
        access_token: str,
        batch_size: int = META_MAX_BATCH,
        **options: Any,
    ) -> None:
        super().__init__(base_url, audience_id, access_token, batch_size, **options)

    def encode(self, changes: Sequence[Change], run_id: str) -> HttpRequest:
        op = self._check_batch(changes)
        sendable, _ = self.members(changes)
        data = [[m.email_sha256 or "", m.phone_sha256 or ""] for m in sendable]
        return HttpRequest(
            method="POST" if op == "upsert" else "DELETE",
            url=f"{self.base_url}/{self.audience_id}/users",
            body=self._json({"payload": {"schema": list(META_SCHEMA), "data": data}}),
            headers=dict(self._headers),
        )

    def rejected(self, status: int, body: bytes, changes: Sequence[Change]) -> dict[str, str]:
        """Locally refused changes, plus those whose hash Meta lists in `invalid_entry_samples`
        (documented as a map of entry -> reason; a list of entries is read too).

        Meta reports only a sample of invalid entries with `num_invalid_entries`; an invalid
        entry outside the sample cannot be attributed and counts as accepted. On a 4xx the
        reason is Meta's `error` (code/subcode and title).
        """
        sendable, refused = self.members(changes)
        parsed = self._parse(body)
        whole = self._refused_whole(status, parsed, sendable, refused)
        if whole is not None:
            return whole
        samples = parsed.get("invalid_entry_samples") if isinstance(parsed, dict) else None
        if isinstance(samples, dict):
            entries: Iterable[tuple[object, object]] = samples.items()
        elif isinstance(samples, list):
            entries = ((entry, None) for entry in samples)
        else:
            return refused
        by_hash: dict[str, list[str]] = {}
        for m in sendable:
            for h in m.hashes:
                by_hash.setdefault(h, []).append(m.key)
        for entry, why in entries:
            for h in _HEX64.findall(str(entry)):
                for key in by_hash.get(h.lower(), ()):
                    detail = f": {_platform_reason(why)}" if why else ""
                    refused.setdefault(key, f"invalid_entry{detail}")
        return refused

    def _error_reason(self, error: Mapping[str, Any]) -> str | None:
        # {"error": {"message", "code", "error_subcode", "error_user_title", ...}}
        code = "/".join(str(error[k]) for k in ("code", "error_subcode") if error.get(k))
        text = error.get("error_user_title") or error.get("message")
        if not code and not text:
            return None
        return _platform_reason(f"meta_error {code}: {text or ''}".strip(" :"))


class GoogleAudienceCodec(_AudienceCodec):
    """Google Customer Match shape: `POST {base}/{audience_id}:addOperations` (audience_id is
    the offline user data job's resource name) with `{"operations": [{"create"|"remove":
    {"userIdentifiers": [{"hashedEmail": h}, {"hashedPhoneNumber": h}]}}],
    "enablePartialFailure": true}`; one member per operation."""

    platform: ClassVar[pii.Platform] = "google"
    hard_limit: ClassVar[int] = GOOGLE_MAX_BATCH

    def __init__(
        self,
        base_url: str,
        audience_id: str,
        access_token: str,
        batch_size: int = GOOGLE_DEFAULT_BATCH,
        **options: Any,
    ) -> None:
        super().__init__(base_url, audience_id, access_token, batch_size, **options)

    @staticmethod
    def _identifiers(member: Member) -> list[dict[str, str]]:
        ids = []
        if member.email_sha256:
            ids.append({"hashedEmail": member.email_sha256})
        if member.phone_sha256:
            ids.append({"hashedPhoneNumber": member.phone_sha256})
        return ids

    def encode(self, changes: Sequence[Change], run_id: str) -> HttpRequest:
        op = self._check_batch(changes)
        sendable, _ = self.members(changes)
        verb = "create" if op == "upsert" else "remove"
        operations = [{verb: {"userIdentifiers": self._identifiers(m)}} for m in sendable]
        return HttpRequest(
            method="POST",
            url=f"{self.base_url}/{self.audience_id}:addOperations",
            body=self._json({"operations": operations, "enablePartialFailure": True}),
            headers=dict(self._headers),
        )

    def rejected(self, status: int, body: bytes, changes: Sequence[Change]) -> dict[str, str]:
        """Locally refused changes, plus each operation named by the partial-failure status:
        `partialFailureError.details[].errors[]`, attributed through the error's
        `location.fieldPathElements` entry `{"fieldName": "operations", "index": i}`; the
        reason is the `errorCode` (e.g. `offlineUserDataJobError.INVALID_SHA256_FORMAT`).
        An error without an operation index cannot be attributed and is ignored. On a 4xx the
        reason is the `error`'s error codes (or its status and message)."""
        sendable, refused = self.members(changes)
        parsed = self._parse(body)
        whole = self._refused_whole(status, parsed, sendable, refused)
        if whole is not None:
            return whole
        if not isinstance(parsed, dict):
            return refused
        status_obj = parsed.get("partialFailureError") or parsed.get("partial_failure_error")
        if not isinstance(status_obj, dict):
            return refused
        reasons: dict[str, list[str]] = {}
        for error in _google_errors(status_obj):
            index = _operation_index(error)
            if index is None or not 0 <= index < len(sendable):
                continue
            reason = _google_reason(error)
            found = reasons.setdefault(sendable[index].key, [])
            if reason not in found:
                found.append(reason)
        for key, found in reasons.items():
            refused.setdefault(key, "; ".join(found)[:_MAX_REASON])
        return refused

    def _error_reason(self, error: Mapping[str, Any]) -> str | None:
        # {"error": {"code", "message", "status", "details": [GoogleAdsFailure]}}
        codes = list(dict.fromkeys(_google_reason(e) for e in _google_errors(error)))
        if codes:
            return "; ".join(codes)[:_MAX_REASON]
        text = error.get("message")
        if not text:
            return None
        return _platform_reason(f"{error.get('status') or error.get('code') or 'error'}: {text}")


def _google_errors(status_obj: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    details = status_obj.get("details")
    for detail in details if isinstance(details, list) else ():
        errors = detail.get("errors") if isinstance(detail, dict) else None
        for error in errors if isinstance(errors, list) else ():
            if isinstance(error, dict):
                yield error


def _operation_index(error: Mapping[str, Any]) -> int | None:
    location = error.get("location")
    if not isinstance(location, dict):
        return None
    elements = location.get("fieldPathElements") or location.get("field_path_elements")
    for element in elements if isinstance(elements, list) else ():
        if not isinstance(element, dict):
            continue
        name = element.get("fieldName") or element.get("field_name")
        if name == "operations":
            try:
                return int(element["index"])  # int64 may arrive as a JSON string
            except (KeyError, TypeError, ValueError):
                return None
    return None


def _google_reason(error: Mapping[str, Any]) -> str:
    code = error.get("errorCode") or error.get("error_code")
    if isinstance(code, dict) and code:
        return ", ".join(f"{kind}.{value}" for kind, value in sorted(code.items()))
    # the message, never `trigger`, which echoes the offending value
    return _platform_reason(error.get("message") or "partial_failure")
