"""`lakecdp serve`: POST /v1/decide, /health, Prometheus /metrics, OpenAPI at /openapi.json.

A decision never fails for lack of data: an unknown person, missing features or no champion
model give the fallback action with the reason. Only a request that is wrong gets an error: 422
naming the field (the request model is built from the configuration, so channels, markets and
identifier types are checked, and listed in the OpenAPI schema).

Locked: /v1/decide needs an API key with the `decide` scope (`auth.api_keys`, lakecdp/kernel/
auth.py), since it turns an e-mail address into a customer's decision; /health and /metrics stay
open for probes.

Ready means able to decide: /health answers 200 only while the online store answers and once the
champion (if one is registered) is loaded; until then /health and /v1/decide answer 503 with what
is missing. Start-up stays light (no Feast SDK, MLflow, scikit-learn or pandas on this path:
lakecdp/decisioning/online_features.py, champion.py), so a restarted replica is ready in seconds.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotation at runtime,
# and the request model is built from the configuration inside create_app.
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from lakecdp.decisioning.caps import CapCounter
from lakecdp.decisioning.decision_log import DecisionLog
from lakecdp.decisioning.holdout import assign_arm
from lakecdp.decisioning.online_features import OnlineFeatures
from lakecdp.decisioning.rules import ANY_CHANNEL, CustomerContext, Outcome, choose_action
from lakecdp.identity.rules import IdentityRules
from lakecdp.identity.subjects import CUSTOMER_ID, SubjectHasher
from lakecdp.kernel.asgi import run_asgi
from lakecdp.kernel.auth import Caller, require_scope
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.suppression import SuppressionList
from ml.serving.champion import Champions

log = logging.getLogger(__name__)
# The reason a decision names nobody: the person asked to be left alone (a privacy request).
SUPPRESSED = "suppressed by a privacy request: no decision, nothing read or kept"


class DecideResponse(BaseModel):
    decision_id: str
    customer_id: str | None
    action: str
    action_kind: str
    channel: str | None
    score: float | None = Field(description="the primary model's score (models.registered)")
    model_version: str | None = Field(description="the primary model's version that scored")
    scores: dict[str, float] = Field(
        default_factory=dict, description="every registered model's score, by model name"
    )
    model_versions: dict[str, str] = Field(
        default_factory=dict, description="the version of each model that scored"
    )
    experiment: str
    arm: str | None
    fallback: bool
    reasons: list[str]
    decided_at: datetime


def request_models(config: ProjectConfig) -> type[BaseModel]:
    """The /v1/decide body, with the configured identifier types, channels and markets."""
    id_types = Literal[tuple(config.identifier_types)]  # type: ignore[valid-type]
    channels = Literal[(*config.consent.channels, ANY_CHANNEL)]  # type: ignore[valid-type]
    markets = Literal[tuple(config.markets)]  # type: ignore[valid-type]
    identifier = create_model(
        "Identifier",
        __config__=ConfigDict(extra="forbid"),
        type=(id_types, Field(description="a configured identifier type")),
        value=(str, Field(min_length=1, max_length=512)),
    )

    class _OneIdentity(BaseModel):
        model_config = ConfigDict(extra="forbid")

        @model_validator(mode="after")
        def _exactly_one(self) -> Any:
            if (self.identifier is None) == (self.customer_id is None):  # type: ignore[attr-defined]
                raise ValueError("give exactly one of identifier or customer_id")
            return self

    return create_model(
        "DecideRequest",
        __base__=_OneIdentity,
        identifier=(identifier | None, None),
        customer_id=(str | None, Field(default=None, min_length=1, max_length=128)),
        channel=(channels, Field(description="where the action is delivered, or 'any'")),
        market=(markets, Field(description="the market the request comes from")),
        context=(dict[str, Any], Field(default_factory=dict)),
    )


@dataclass
class DecisionService:
    """Everything a decision reads and writes; built once per process."""

    config: ProjectConfig
    online: OnlineFeatures
    caps: CapCounter
    champion: Champions
    log: DecisionLog

    def __post_init__(self) -> None:
        self._rules = IdentityRules.from_config(self.config)
        self._online_seen = False
        self._suppression = SuppressionList.from_config(self.config)
        self._subjects = SubjectHasher(self.config) if self.config.governance.subject_key else None

    def _suppressed(self, id_type: str, value: str) -> bool:
        """Is this identifier (normal form) or customer id on the suppression list?"""
        current = self._suppression.hashes()
        if not current or self._subjects is None:
            return False
        return self._subjects.hash(id_type, value) in current

    def waiting_for(self) -> list[str]:
        """What keeps the service from deciding right now; empty when it is ready."""
        waiting = []
        try:
            self.online.check()
            self._online_seen = True
        except Exception as exc:  # any failure to read means not ready; say which
            waiting.append(f"online store: {exc}")
        if not self.champion.ready:
            waiting.append(self.champion.problem or "champions not looked up yet")
        return waiting

    def ready_to_decide(self) -> bool:
        """Cheap per request: the champion settled and the store read once (later store
        failures surface as errors of the request that meets them)."""
        return self.champion.ready and (self._online_seen or not self.waiting_for())

    @classmethod
    def from_config(cls, config: ProjectConfig) -> "DecisionService":
        from lakecdp.decisioning.caps import cap_counter

        online = OnlineFeatures(config)
        return cls(
            config,
            online,
            cap_counter(config),
            Champions(config, online.service_features),
            DecisionLog(config.decision_log_dir),
        )

    def decide(self, request: Any, caller: str | None = None) -> DecideResponse:
        cfg = self.config.decisioning
        now = datetime.now(UTC)
        experiment = cfg.experiments[cfg.experiment]
        customer_id, why_unknown = self._resolve(request)
        if why_unknown == SUPPRESSED:  # nothing of the person is read, counted or logged
            customer_id = None
        served = self.champion.served()
        model = served.get(self.champion.primary)
        score: float | None = None
        scores: dict[str, float] = {}
        arm = None
        reasons: list[str] = []
        if why_unknown == SUPPRESSED:
            outcome = Outcome(cfg.holdout_action, "none", None, True, [SUPPRESSED])
        elif customer_id is None:
            outcome = Outcome(cfg.fallback_action, "content", None, True, [why_unknown or ""])
        else:
            features = self.online.features(customer_id)
            arm = assign_arm(customer_id, experiment.salt, experiment.holdout_share)
            history = self.online.has_transactions(features)
            if features.get("market") is None and not history:
                outcome = Outcome(
                    cfg.fallback_action, "content", None, True, ["no online features yet"]
                )
            else:
                if model is None:
                    reasons.append("no champion model: rules without a score")
                if history:
                    for name, loaded in served.items():
                        try:
                            scores[name] = loaded.score(features)
                        except Exception as exc:  # one model's failure is not the decision's
                            log.warning("%s v%s failed to score: %s", name, loaded.version, exc)
                            reasons.append(f"{name} v{loaded.version} failed to score: no score")
                            continue
                        by = f"by model v{loaded.version} ({loaded.kind})"
                        if name == self.champion.primary:
                            score = scores[name]
                            reasons.insert(0, f"score {score:.3f} {by}")
                        else:
                            reasons.append(f"{name} score {scores[name]:.3f} {by}")
                elif served:
                    reasons.append("no purchase history: no score")
                ctx = CustomerContext(
                    customer_id, features.get("market"), features, score, arm, scores
                )
                outcome = choose_action(
                    cfg,
                    ctx,
                    channel=request.channel,
                    market=request.market,
                    cap_counts=self.caps.counts(customer_id, cfg.caps),
                    now=now,
                )
                if outcome.channel is not None and outcome.channel in cfg.caps:
                    self.caps.record(customer_id, outcome.channel, cfg.caps[outcome.channel])
        response = DecideResponse(
            decision_id=uuid.uuid4().hex,
            customer_id=customer_id,
            action=outcome.action,
            action_kind=outcome.kind,
            channel=outcome.channel,
            score=score,
            model_version=model.version if model else None,
            scores=scores,
            model_versions={n: served[n].version for n in scores},
            experiment=cfg.experiment,
            arm=arm,
            fallback=outcome.fallback,
            reasons=[*reasons, *outcome.reasons],
            decided_at=now,
        )
        self.log.write(
            {
                **response.model_dump(),
                "request_channel": request.channel,
                "market": request.market,
                "identifier_type": request.identifier.type if request.identifier else None,
                "context": {} if why_unknown == SUPPRESSED else request.context,
                "caller": caller,
            }
        )
        return response

    def _resolve(self, request: Any) -> tuple[str | None, str | None]:
        """(customer id, why there is none); SUPPRESSED when the identifier, the customer id
        asked for or the one it resolves to is on the suppression list."""
        if request.customer_id is not None:
            if self._suppressed(CUSTOMER_ID, request.customer_id):
                return None, SUPPRESSED
            found = self.online.resolve(f"customer_id:{request.customer_id}")
            if found and self._suppressed(CUSTOMER_ID, found):
                return None, SUPPRESSED
            return found, None if found else "unknown customer_id: fallback"
        ident = request.identifier
        region = self.config.markets[request.market].phone_region
        normalized = self._rules.normalize(ident.type, ident.value, region=region)
        if not normalized.ok:
            return None, f"identifier {ident.type} unusable ({normalized.reason}): fallback"
        if self._suppressed(ident.type, str(normalized.value)):
            return None, SUPPRESSED
        found = self.online.resolve(f"{ident.type}:{normalized.value}")
        if found and self._suppressed(CUSTOMER_ID, found):
            return None, SUPPRESSED
        return found, None if found else f"unknown {ident.type}: fallback"


def create_app(config: ProjectConfig, service: DecisionService | None = None) -> FastAPI:
    registry = CollectorRegistry()
    decisions = Counter(
        "lakecdp_decisions_total",
        "Decisions by action, arm and fallback",
        ["action", "arm", "fallback"],
        registry=registry,
    )
    latency = Histogram(
        "lakecdp_decide_seconds",
        "Time to decide, from request parsed to response built",
        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
        registry=registry,
    )
    served_version = Gauge(
        "lakecdp_model_served_version",
        "The champion version each registered model serves (-1: none)",
        ["model"],
        registry=registry,
    )
    load_failures = Gauge(
        "lakecdp_model_load_failures",
        "Champion versions refused since start (signature mismatch, unloadable), per model",
        ["model"],
        registry=registry,
    )
    state: dict[str, DecisionService] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        state["service"] = service or DecisionService.from_config(config)
        state["service"].champion.start()
        yield
        state["service"].champion.stop()
        state["service"].log.close()
        state["service"].online.close()

    app = FastAPI(
        title="lakecdp decisions",
        version="1",
        description=__doc__,
        lifespan=lifespan,
    )
    decide_request = request_models(config)

    not_ready: dict[int | str, dict[str, Any]] = {
        503: {"description": "not ready to decide yet; `waiting_for` says why"}
    }
    locked: dict[int | str, dict[str, Any]] = {
        401: {"description": "no API key, or an unknown one"},
        403: {"description": "the API key lacks the `decide` scope"},
    }
    may_decide = require_scope(config.auth.api_keys, "decide")

    @app.post("/v1/decide", response_model=DecideResponse, responses={**not_ready, **locked})
    def decide(
        request: decide_request,  # type: ignore[valid-type]
        caller: Caller = Depends(may_decide),  # noqa: B008
    ) -> DecideResponse:
        started = time.perf_counter()
        if not state["service"].ready_to_decide():
            raise HTTPException(503, {"waiting_for": state["service"].waiting_for()})
        response = state["service"].decide(request, caller=caller.name)
        latency.observe(time.perf_counter() - started)
        decisions.labels(response.action, response.arm or "none", str(response.fallback)).inc()
        return response

    @app.get("/health", responses=not_ready)
    def health(response: Response) -> dict[str, Any]:
        """200 when a decision can be made now, else 503 naming what is missing."""
        waiting = state["service"].waiting_for()
        if waiting:
            response.status_code = 503
            return {"status": "not_ready", "waiting_for": waiting}
        champions = state["service"].champion
        model = champions.current
        return {
            "status": "ok",
            "model_version": model.version if model else None,
            "models": champions.status(),
            "problems": champions.problems(),
            "experiment": config.decisioning.experiment,
            "online_store": config.features.online_store,
        }

    @app.get("/metrics")
    def metrics() -> Response:
        for name, status in state["service"].champion.status().items():
            version = status["served_version"]
            served_version.labels(name).set(int(version) if version else -1)
            load_failures.labels(name).set(status["load_failures"])
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def serve(config: ProjectConfig, host: str | None = None, port: int | None = None) -> None:
    run_asgi(create_app(config), host or config.decisioning.host, port or config.decisioning.port)
