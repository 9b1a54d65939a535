"""A sync's destination, opened from its configuration for one run."""

from __future__ import annotations

from pydantic import SecretStr

from lakecdp.activation.ad_audience import GoogleAudienceCodec, MetaAudienceCodec
from lakecdp.activation.changes import Destination
from lakecdp.activation.http_delivery import DeliverySettings, HttpDelivery
from lakecdp.activation.rate_limit import PaceRules, RateLimiter
from lakecdp.activation.wire_format import WireFormatCodec
from lakecdp.kernel.config import (
    AdAudienceDestination,
    FileDestination,
    HttpDestination,
    HttpLimits,
    PostgresDestination,
    ProjectConfig,
)


def destination_for(
    config: ProjectConfig,
    sync_name: str,
    run_id: str,
    field_types: dict[str, str],
    *,
    sender: str | None = None,
) -> Destination:
    """Open the destination of `sync_name` for run `run_id`; `field_types` are the Spark types
    of the mapped fields (a PostgreSQL table the sync creates takes its column types from them).
    `sender` names one of several senders of the run (a Spark task), where it matters: the
    file destination puts it in its file names so that senders never write the same file."""
    sync = config.syncs[sync_name]
    spec = config.destinations[sync.destination]
    if isinstance(spec, PostgresDestination):
        from lakecdp.activation.postgres import PostgresTable

        return PostgresTable(
            spec.dsn.get_secret_value(),
            spec.db_schema,
            spec.table,
            sync=sync_name,
            key_column=sync.primary_key,
            field_types=field_types,
            mode=sync.mode,
            batch_size=spec.batch_size,
        )
    if isinstance(spec, FileDestination):
        from lakecdp.activation.files import FileDrop

        return FileDrop(
            spec.path,
            sync=sync_name,
            run_id=run_id,
            fields=list(field_types),
            file_format=spec.format,
            endpoint_url=spec.endpoint_url,
            sender=sender,
        )
    limiter = _shared_budget(config, sync.destination, spec)
    if isinstance(spec, HttpDestination):
        return _http(spec, sync_name, run_id, limiter)
    assert isinstance(spec, AdAudienceDestination)
    return _ad_audience(spec, sync_name, run_id, limiter)


def _shared_budget(
    config: ProjectConfig, name: str, spec: HttpDestination | AdAudienceDestination
) -> RateLimiter | None:
    """The destination's pace in Redis when it is shared, else None (one budget per run)."""
    if not spec.limits.shared_budget:
        return None
    from lakecdp.activation.shared_rate_limit import RedisTokenBucket

    settings = _settings(spec.limits)
    host, port, db = config.features.redis_host_port
    rules = PaceRules.of(
        settings.requests_per_second,
        settings.burst,
        min_requests_per_second=settings.min_requests_per_second,
    )
    return RedisTokenBucket(f"redis://{host}:{port}/{db}", name, rules)


def _settings(limits: HttpLimits) -> DeliverySettings:
    return DeliverySettings(
        concurrency=limits.concurrency,
        requests_per_second=limits.requests_per_second,
        timeout_seconds=limits.timeout_seconds,
        retry_budget=limits.retry_budget,
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _http(
    spec: HttpDestination, sync_name: str, run_id: str, limiter: RateLimiter | None
) -> Destination:
    codec = WireFormatCodec(
        spec.url,
        sync_name,
        auth_header=_secret(spec.auth_header),
        signing_secret=_secret(spec.signing_secret),
        max_batch=spec.batch_size,
    )
    return HttpDelivery(codec, run_id, _settings(spec.limits), name=sync_name, limiter=limiter)


def _ad_audience(
    spec: AdAudienceDestination, sync_name: str, run_id: str, limiter: RateLimiter | None
) -> Destination:
    codec_type = MetaAudienceCodec if spec.platform == "meta" else GoogleAudienceCodec
    codec = codec_type(
        spec.url, spec.audience_id, spec.access_token.get_secret_value(), spec.batch_size
    )
    return HttpDelivery(codec, run_id, _settings(spec.limits), name=sync_name, limiter=limiter)
