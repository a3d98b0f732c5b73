"""A local Fincome API server that obeys ``fincome-api-contract.md``, with injectable faults.

Run it with ``python -m fincome_sandbox --port 8080 --api-key KEY``; drive it from tests and
benchmarks with :class:`fincome_sandbox.launcher.SandboxProcess`.
"""

from __future__ import annotations
