"""Runtime options of the sandbox: the fault profile, settable at start and on reset."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Default duration of a stalled request: far beyond any sane client timeout.
DEFAULT_STALL_SECONDS = 120.0


class FaultOptions(BaseModel):
    """How the sandbox misbehaves; every rate is a share of contract requests (0 to 1).

    ``reset_rate``, ``stall_rate`` and ``error_rate`` are exclusive and drawn in that order from
    one seeded random number per request; ``rate_limit`` (requests per second across all
    clients, token bucket with a one-second burst) is checked before them. ``throttle_rate``
    answers a share of requests 429 with ``Retry-After: throttle_retry_after`` at random (its
    own seeded draw, so the other faults of a seed are unchanged).

    ``require_plans`` is a strictness setting, not a fault: a subscription's ``plan_id`` must
    name a stored plan (422 ``reference_not_found``), as the contract says. Off by default while
    the load does not send plans.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit: float | None = Field(default=None, gt=0)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    stall_rate: float = Field(default=0.0, ge=0, le=1)
    stall_seconds: float = Field(default=DEFAULT_STALL_SECONDS, ge=0)
    throttle_rate: float = Field(default=0.0, ge=0, le=1)
    throttle_retry_after: int = Field(default=1, ge=0)
    seed: int | None = None
    require_plans: bool = False


class ResetRequest(BaseModel):
    """Body of ``POST /_sandbox/reset``: fault options left out go back to the start values."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    rate_limit: float | None = Field(default=None, gt=0)
    reset_rate: float | None = Field(default=None, ge=0, le=1)
    stall_rate: float | None = Field(default=None, ge=0, le=1)
    stall_seconds: float | None = Field(default=None, ge=0)
    throttle_rate: float | None = Field(default=None, ge=0, le=1)
    throttle_retry_after: int | None = Field(default=None, ge=0)
    seed: int | None = None
    require_plans: bool | None = None
    clear_store: bool = True

    def apply_to(self, start: FaultOptions) -> FaultOptions:
        """Return the start options overridden by the fields this request set explicitly."""
        update = self.model_dump(exclude_unset=True, exclude={"clear_store"})
        return FaultOptions.model_validate({**start.model_dump(), **update})
