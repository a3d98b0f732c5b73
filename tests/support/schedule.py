"""How ``make test`` spreads the tests over the xdist workers (``--dist loadfile``, with this
module's scheduler): a file's tests go to one worker, so its module fixtures start once, except
in :data:`SPLIT_FILES`, whose slow tests share nothing and go one by one; the slow files and
tests are handed out first, so that none of them starts last and ends the run alone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Final

import pytest
from xdist.scheduler import LoadFileScheduling

#: Seconds each slow file's tests took together (setup, call and teardown) in one worker,
#: measured on 2026-11-30 (4 workers, load average 10 to 12). Only the order matters.
SLOW_FILES: Final = {
    "integration/test_bench_smoke.py": 440,
    "e2e/test_readme_recipes.py": 340,
    "e2e/test_monthly_load.py": 304,
    "e2e/test_intraday_sync.py": 557,
    "e2e/test_month_asset.py": 352,
    "e2e/test_celery_cluster.py": 292,
    "integration/test_installed_wheel.py": 204,
    "reliability/test_crash_mid_load.py": 192,
    "e2e/test_chunked_load.py": 145,
    "reliability/test_bad_input.py": 129,
    "e2e/test_connection_form.py": 129,
    "integration/test_extract_volume.py": 126,
    "reliability/test_secrets.py": 123,
    "reliability/test_state_and_erp_faults.py": 96,
    "e2e/test_monthly_load_demo.py": 87,
    "e2e/test_readme_ui_recipe.py": 86,
    "e2e/test_deadline_scheduler.py": 84,
    "integration/test_shared_budget.py": 74,
    "e2e/test_ui_browser.py": 74,
    "e2e/test_dags_test_deadline.py": 69,
    "reliability/test_flaky_api.py": 48,
    "integration/test_connection_type.py": 32,
    "integration/test_hook_sandbox.py": 32,
    "e2e/test_state_maintenance_dag.py": 27,
    "reliability/test_api_down.py": 24,
}
#: Files whose tests are handed out one by one: several slow tests, no module fixture.
SPLIT_FILES: Final = frozenset(
    {
        "e2e/test_monthly_load.py",
        "e2e/test_intraday_sync.py",
        "integration/test_extract_volume.py",
        "reliability/test_bad_input.py",
        "reliability/test_secrets.py",
        "reliability/test_state_and_erp_faults.py",
    }
)
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


def order(items: list[pytest.Item], tests: Path) -> None:
    """Sort the slow files first, a split file's tests by their share of its seconds (a file's
    tests stay together and in order); refuse a split file whose tests share a fixture."""
    files = [item.path.relative_to(tests).as_posix() for item in items]
    count = Counter(files)
    first_seen = {name: index for index, name in reversed(list(enumerate(files)))}
    for item, name in zip(items, files, strict=True):
        if name in SPLIT_FILES and shares_a_module_fixture(item):
            raise pytest.UsageError(f"{item.nodeid} shares a module fixture: not in SPLIT_FILES")

    def weight(name: str) -> float:
        return SLOW_FILES.get(name, 0) / (count[name] if name in SPLIT_FILES else 1)

    keys = {
        id(item): (-weight(name), first_seen[name], index)
        for index, (item, name) in enumerate(zip(items, files, strict=True))
    }
    items.sort(key=lambda item: keys[id(item)])


class SlowFirstScheduling(LoadFileScheduling):
    """``--dist loadfile`` in the collection's order (no reordering by test count, which sends
    the files of one slow test last), the tests of :data:`SPLIT_FILES` one by one."""

    def __init__(self, config: pytest.Config, log: object = None) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return nodeid if path.removeprefix("tests/") in SPLIT_FILES else path
