"""The order tests are handed to the xdist workers in (``make test``: ``--dist loadgroup
--no-loadscope-reorder``): the slow first, so that none of them starts last and ends the run
alone; the tests of a file that share a module fixture in one group (one worker, set up once).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Final

import pytest

#: Seconds each slow file's tests took together (setup, call and teardown), measured with
#: ``--durations`` on 2026-11-30 (3 workers, load average 8 to 11). Only the order matters.
SLOW_FILES: Final = {
    "e2e/test_monthly_load.py": 378,
    "integration/test_extract_volume.py": 301,
    "integration/test_bench_smoke.py": 280,
    "integration/test_installed_wheel.py": 237,
    "e2e/test_readme_recipes.py": 223,
    "reliability/test_secrets.py": 203,
    "e2e/test_celery_cluster.py": 175,
    "e2e/test_chunked_load.py": 173,
    "reliability/test_crash_mid_load.py": 151,
    "e2e/test_connection_form.py": 147,
    "reliability/test_bad_input.py": 134,
    "e2e/test_monthly_load_demo.py": 120,
    "reliability/test_flaky_api.py": 104,
    "reliability/test_state_and_erp_faults.py": 101,
    "integration/test_shared_budget.py": 100,
    "e2e/test_dags_test_deadline.py": 98,
    "e2e/test_deadline_scheduler.py": 97,
    "e2e/test_readme_ui_recipe.py": 79,
    "e2e/test_ui_browser.py": 73,
    "integration/test_connection_type.py": 60,
    "integration/test_hook_sandbox.py": 31,
    "e2e/test_state_maintenance_dag.py": 28,
    "reliability/test_api_down.py": 24,
}
_SHARED_SCOPES: Final = frozenset({"module", "class", "package"})


def shares_a_module_fixture(item: pytest.Item) -> bool:
    """The test uses a fixture set up once for its module (or class)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definition.scope in _SHARED_SCOPES
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )


def group_and_order(items: list[pytest.Item], tests: Path) -> None:
    """Group each file whose tests share a module fixture; sort the slow files first (a file's
    tests stay together and in order)."""
    files = [item.path.relative_to(tests).as_posix() for item in items]
    count = Counter(files)
    first_seen = {name: index for index, name in reversed(list(enumerate(files)))}
    grouped = set()
    for item, name in zip(items, files, strict=True):
        if shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(name))
            grouped.add(name)

    def weight(name: str) -> float:
        """A group's seconds, or a test's share of its file's."""
        return SLOW_FILES.get(name, 0) / (1 if name in grouped else count[name])

    order = {
        id(item): (-weight(name), first_seen[name], index)
        for index, (item, name) in enumerate(zip(items, files, strict=True))
    }
    items.sort(key=lambda item: order[id(item)])
