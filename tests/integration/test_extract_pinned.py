"""The outcomes of a month's extraction, pinned: the same staged payloads, hashes and rejects.

A seeded dirty month of the reference ERP (every defect kind, hostile-but-valid text) and the
defect corpus (``test_extract_corpus``) are extracted on SQLite and on PostgreSQL (ERP and state
database on the same backend, so that PostgreSQL's ``COPY`` staging is covered). Every staged
row (payload bytes, hash, currency, net amount) and every reject (reason code, field, message,
blocked_by) is folded into one SHA-256 per resource and table, and compared with the digests
that the per-record code of ``main`` gave before the extraction was made faster (issue 16).
A change of any payload byte, hash or reject message changes a digest: if it is meant (a rule
changed), say why in the commit and pin the new digests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import text

from fincome_airflow.engines import erp_engine
from fincome_airflow.stage.stage_month import extract_and_stage
from fincome_airflow.state.store import StateStore

pytestmark = pytest.mark.integration

fincome_erp = pytest.importorskip("fincome_erp")

#: A month of the generator with a fifth of its records dirty (every kind several times).
INVOICES = 1500
DIRTY_SHARE = 0.2
EDGE_SHARE = 0.05

_STAGED = (
    "SELECT resource, record_id, action, payload, payload_hash, currency, net_amount"
    " FROM fincome_staged WHERE run_key = :k ORDER BY resource, record_id"
)
_REJECTS = (
    "SELECT resource, record_id, seq, outcome, reason_code, field, message, blocked_by"
    " FROM fincome_rejects WHERE run_key = :k ORDER BY resource, record_id, seq"
)


def digests(store: StateStore, run_key: str) -> dict[str, str]:
    """``{"<table>/<resource>": "<count>:<sha256 of its rows>"}`` of one run."""
    hashes: dict[str, hashlib._Hash] = defaultdict(hashlib.sha256)
    counts: dict[str, int] = defaultdict(int)
    with store.engine.connect() as conn:
        for table, query in (("staged", _STAGED), ("rejects", _REJECTS)):
            for row in conn.execute(text(query), {"k": run_key}):
                key = f"{table}/{row.resource}"
                cells = ["\\N" if v is None else _cell(v) for v in row]
                hashes[key].update("\t".join(cells).encode() + b"\n")
                counts[key] += 1
    return {k: f"{counts[k]}:{hashes[k].hexdigest()}" for k in sorted(hashes)}


def _cell(value: object) -> str:
    """A cell as text; numbers as plain decimals (SQLite may give a float, PostgreSQL Decimal)."""
    if isinstance(value, float):
        return format(Decimal(repr(value)).quantize(Decimal("0.01")), "f")
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _generated_month(erp_url: str, state_url: str) -> dict[str, str]:
    from fincome_erp import GeneratorConfig, populate
    from fincome_erp.months import Month

    config = GeneratorConfig.build(
        Month(2026, 10),
        invoices_per_month=INVOICES,
        dirty_share=DIRTY_SHARE,
        edge_share=EDGE_SHARE,
    )
    engine = erp_engine(erp_url)
    populate(engine, config)
    store = StateStore.from_url(state_url)
    now = dt.datetime.combine(config.as_of, dt.time(), tzinfo=dt.UTC)
    extract_and_stage(engine, store, "pinned", "2026-10", now=now)
    engine.dispose()
    out = digests(store, "pinned")
    store.engine.dispose()
    return out


def _corpus(erp_url: str, state_url: str, pg: bool) -> dict[str, str]:
    from test_extract_corpus import CORE_CASES, _load_and_extract

    # The billing model's cases add customers, contracts and invoices of their own: left out,
    # so that the existing resources' digests stay those of main (the corpus test checks them).
    store = _load_and_extract(erp_url, state_url, pg=pg, cases=CORE_CASES)
    out = digests(store, "corpus")
    store.engine.dispose()
    return out


def _show(got: dict[str, str]) -> str:
    return "\n".join(f'    "{k}": "{v}",' for k, v in got.items())


def test_generated_dirty_month_stages_what_main_staged_on_sqlite(tmp_path) -> None:
    got = _generated_month(f"sqlite:///{tmp_path}/erp.db", f"sqlite:///{tmp_path}/state.db")
    assert got == PINNED["generated-sqlite"], _show(got)


def test_generated_dirty_month_stages_what_main_staged_on_postgresql(create_pg_database) -> None:
    got = _generated_month(create_pg_database("erp"), create_pg_database("state"))
    assert got == PINNED["generated-postgresql"], _show(got)


def test_defect_corpus_stages_what_main_staged_on_sqlite(tmp_path) -> None:
    got = _corpus(f"sqlite:///{tmp_path}/erp.db", f"sqlite:///{tmp_path}/state.db", pg=False)
    assert got == PINNED["corpus-sqlite"], _show(got)


def test_defect_corpus_stages_what_main_staged_on_postgresql(create_pg_database) -> None:
    got = _corpus(create_pg_database("erp"), create_pg_database("state"), pg=True)
    assert got == PINNED["corpus-postgresql"], _show(got)


#: Recorded with main's per-record code (commit e005547), before issue 16's changes.
PINNED: dict[str, dict[str, str]] = {
    "generated-sqlite": {
        "rejects/customers": (
            "206:897ab34df857c2ba5ba5099204526dd9deeff45052693ebe88139ff863e1f3ee"
        ),
        "rejects/invoices": (
            "272:5d47da9211e06a4e9c633270d97a48dcd3c177f6fd64f801021137d0f0c2252b"
        ),
        "rejects/subscriptions": (
            "404:45465225369defd110f943a2ccedb416c6417ea62baff4b44f8a017e1834f7fa"
        ),
        "staged/customers": (
            "1232:41684c8b3345e5e76dcbfe29c4121475b29cb87382658bcb1d4ff987bdcd4906"
        ),
        "staged/invoices": (
            "1229:b9d547d13f7ef3831aef04fa1dec11ec110ce2c28122d2aa991c55a58425002d"
        ),
        "staged/subscriptions": (
            "1488:9de9c0a68f3b08add40d6bc9bf439e9f8f9c342f7a3e6bde0af140272415a190"
        ),
        # issue 15, the billing model (added; the entries above are unchanged)
        "rejects/credit_notes": (
            "10:0b4b2d32093987a60afdd6489d94c25d430177e1c4963ede8c65198979e4d2c5"
        ),
        "rejects/plans": "2:6dab3ba36c1fcce9a188e7fe375b60c3a4ef95cddd45889ef299e377ca7c3447",
        "staged/credit_notes": (
            "39:6fe24cd49b526dbf235ac099eebf0189f177deebf5c8b489c40d595995682997"
        ),
        "staged/plans": "6:dde6644dfee84b330c41367c77e0d57ece75fc587f0f5211efc7fea1dd5a9648",
        "staged/products": "4:5ca997d2761bd8a322c6d90630e0a752238e77bfe8fb74be67d7340eb370b085",
    },
    "generated-postgresql": {
        "rejects/customers": (
            "206:897ab34df857c2ba5ba5099204526dd9deeff45052693ebe88139ff863e1f3ee"
        ),
        "rejects/invoices": (
            "272:9f63955e1de9bf36627c91e97485d95b33b1f1dc068cbd76cc77ed461eebfc99"
        ),
        "rejects/subscriptions": (
            "404:8ef15f3a24e97701fb4a0df77564b1a816216a8f05e1994b7b38cdea62b08b99"
        ),
        "staged/customers": (
            "1232:41684c8b3345e5e76dcbfe29c4121475b29cb87382658bcb1d4ff987bdcd4906"
        ),
        "staged/invoices": (
            "1229:2c80778c5198530fa75e69872d4ac0e04d6896f61eee9c68748cafdeee5143e8"
        ),
        "staged/subscriptions": (
            "1488:9de9c0a68f3b08add40d6bc9bf439e9f8f9c342f7a3e6bde0af140272415a190"
        ),
        # issue 15, the billing model (added; the entries above are unchanged)
        "rejects/credit_notes": (
            "10:0b4b2d32093987a60afdd6489d94c25d430177e1c4963ede8c65198979e4d2c5"
        ),
        "rejects/plans": "2:6dab3ba36c1fcce9a188e7fe375b60c3a4ef95cddd45889ef299e377ca7c3447",
        "staged/credit_notes": (
            "39:92c1547e08a22443782ee87c9e02b6f050884bfcb0cfe8297e78de0d48c9fce4"
        ),
        "staged/plans": "6:dde6644dfee84b330c41367c77e0d57ece75fc587f0f5211efc7fea1dd5a9648",
        "staged/products": "4:5ca997d2761bd8a322c6d90630e0a752238e77bfe8fb74be67d7340eb370b085",
    },
    "corpus-sqlite": {
        "rejects/customers": (
            "13:ff70279496d75aef2d34d8982ebcc80e8abff19537952aaa4cb178e39ff6270d"
        ),
        "rejects/invoices": "37:8d08451eb6e8482b9c80735343fcd3bfe65413f1b1ef73bef56bd0cea20454df",
        "rejects/subscriptions": (
            "19:0f94f35afbd7c122194b0d32c98fa5d69965ffd993ab238f7cc39bdba6f0e3c1"
        ),
        "staged/customers": "27:70ce65e322947a2513028933a325a57f1cec7b1fd56dca41d46e72cb9ca3ba70",
        "staged/invoices": "1:ebde2b4bb27858ad845224dd1bccd3ba576e1eaea6d95b1029a1369adf78fc7b",
        "staged/subscriptions": (
            "16:3afb373a361290298ef1a97b19747ddc1129e88650c258078da7940c584f8105"
        ),
        # issue 15, the billing model (added; the entries above are unchanged)
        "staged/credit_notes": "1:44b9bb800a64e95a139d9cc70960ca59d9315e9867c463015c4152aa9147fba4",
        "staged/plans": "1:c5ba3553abee4d2bedeeb0eb55c19d8eff592bfa080e7215fd102912e0a6e479",
        "staged/products": "1:73e49c661bf0d2be5fd0ef9fce2946c33e57ec96c56a96b5ccbb2dfbb92b5786",
    },
    "corpus-postgresql": {
        "rejects/customers": (
            "12:39ca051a1c2f958939f956941fc283d07d7cb5a78538b2ec921c14615e283bf8"
        ),
        "rejects/invoices": "32:fb0a171259ac376c7b6d8f5c64a81ffb7d5c173d71a44c7f5b6da518c3037bc7",
        "rejects/subscriptions": (
            "17:0f254f408fbfe2cb6153ca20bcc89b9eca539f5443be74126081cfa61c01c1f1"
        ),
        "staged/customers": "23:d7386976d0bb1f4f6e95fc1be1703c674571fef52d1fd43f43fb513752819bb7",
        "staged/invoices": "1:28ee5df9fc89a76fcc82409fb116fb8970831cf1cb2d26a668daf03e55841de1",
        "staged/subscriptions": (
            "13:af783e100df11f5c6c5c3501f41161e1b8c8a7f0e51d6de026ff2510cee62954"
        ),
        # issue 15, the billing model (added; the entries above are unchanged)
        "staged/credit_notes": "1:b5590b6a503af34df0005202f3ccc2c53a798987ce5c4b35925346bf392d7135",
        "staged/plans": "1:c5ba3553abee4d2bedeeb0eb55c19d8eff592bfa080e7215fd102912e0a6e479",
        "staged/products": "1:73e49c661bf0d2be5fd0ef9fce2946c33e57ec96c56a96b5ccbb2dfbb92b5786",
    },
}
