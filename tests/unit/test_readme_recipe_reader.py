"""The README's recipes: how ``tests/support/readme.py`` finds them, and that each is tested."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.readme import commands, recipe, recipes

SAMPLE = """
Create it: <!-- recipe: pool -->`airflow pools set p 4
"P"`, then go on.

Quoted, not a recipe: `<!-- recipe: name -->` `nothing`.

<!-- recipe: block -->
```bash
airflow dags unpause d   # a comment
echo "two words"
```
"""

REPO = Path(__file__).resolve().parents[2]
#: Every recipe of README.md, and the test module that runs it.
TESTED = {
    "backfill": "tests/e2e/test_readme_recipes.py",
    "backfill-by-hand": "tests/unit/test_backfill.py",
    "connections": "tests/e2e/test_readme_recipes.py",
    "pool": "tests/e2e/test_readme_recipes.py",
    "rerun": "tests/e2e/test_readme_recipes.py",
    "ui": "tests/e2e/test_readme_ui_recipe.py",
}


def test_recipes_reads_inline_spans_on_one_line_and_fenced_blocks_whole():
    assert recipes(SAMPLE) == {
        "pool": 'airflow pools set p 4 "P"',
        "block": 'airflow dags unpause d   # a comment\necho "two words"',
    }


def test_commands_split_each_line_like_the_shell_without_comments():
    assert commands(recipes(SAMPLE)["block"]) == [
        ["airflow", "dags", "unpause", "d"],
        ["echo", "two words"],
    ]


def test_recipe_refuses_a_replacement_the_recipe_no_longer_contains():
    with pytest.raises(AssertionError, match="no longer contains"):
        recipe("pool", {"fincome_api 8": "other"})


def test_every_recipe_of_the_readme_has_a_test_that_runs_it():
    assert set(recipes()) == set(TESTED)
    for name, module in TESTED.items():
        assert f'recipe("{name}"' in (REPO / module).read_text(), (name, module)
