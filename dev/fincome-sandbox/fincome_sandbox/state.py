"""What one running sandbox holds: its settings, store, statistics and fault injector."""

from __future__ import annotations

from dataclasses import dataclass, field

from fincome_sandbox.config import FaultOptions
from fincome_sandbox.faults import FaultInjector
from fincome_sandbox.stats import Stats
from fincome_sandbox.store import RecordStore


@dataclass
class SandboxState:
    """The sandbox's mutable state, kept on ``app.state.sandbox``."""

    api_key: str
    start_options: FaultOptions
    store: RecordStore
    stats: Stats = field(default_factory=Stats)
    faults: FaultInjector = field(init=False)

    def __post_init__(self) -> None:
        self.faults = FaultInjector(self.start_options)

    def configure(self, options: FaultOptions) -> None:
        """Switch to another fault profile (the random generator is reseeded)."""
        self.faults = FaultInjector(options)
