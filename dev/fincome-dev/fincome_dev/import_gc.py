"""Garbage collection around what a process imports once and keeps (tests and tools only).

Importing Airflow allocates about a million objects, nearly all kept for the process's life.
The cyclic collector, run every 700 allocations, traverses that growing heap again and again
meanwhile: half a second of a fork server's 2.5 s warm-up, nearly a second of its 4 s build of
the in-process Execution API. :func:`pause` stops it while a process imports;
:func:`freeze_kept` then moves what it holds out of every later collection (:func:`gc.freeze`,
as Airflow's LocalExecutor does before it forks its workers: in a forked child, a collection
that traverses those objects also copies every page it shares with its parent, which took half
of a ``dags test`` child's CPU); :func:`resume` starts the collector again (a forked child
inherits it paused).
"""

from __future__ import annotations

import gc


def pause() -> None:
    """Stop cyclic collections (reference counting still frees what is not kept)."""
    gc.disable()


def freeze_kept() -> None:
    """Leave every object the process holds now out of later collections."""
    gc.freeze()


def resume() -> None:
    """Start cyclic collections again."""
    gc.enable()


def keep_imported() -> None:
    """:func:`freeze_kept` and :func:`resume`: what a process does once it has imported."""
    freeze_kept()
    resume()
