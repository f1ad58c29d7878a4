"""Who may see which store in the aeops pages: the DAG ids that hold a store's data, and the one rule.

The pages ask Airflow's auth manager, per DAG id, whether the person may read that DAG's runs
(``is_authorized_dag(method="GET", access_entity=RUN, details=DagDetails(id=...))``: in :mod:`aeops.ui.app`);
this module decides, from those answers, which stores the person sees. It imports nothing of Airflow, so the
rule is tested on its own.

**The DAGs that hold a store's data** (:func:`dag_ids_for_store`): every all-store DAG (:data:`ALL_STORE_DAG_IDS`:
their runs go through every store) and each of them split per store, ``<dag_id>__<store>``
(:func:`aeops.schedules.per_store_dag_id`: a run of ``aliexpress_catalog_sync__demo`` holds only store ``demo``'s data).
``aeops_slack_outbox`` is not one: it delivers messages, its runs are no store's report or health.

**The rule** (:func:`visible_stores`): a person sees a store when they may read the runs of *any* DAG that holds
its data. So a person granted only ``aliexpress_catalog_sync__demo`` sees store ``demo`` and no other (that DAG
holds no other store's data), and a person granted an all-store DAG sees every store (its runs already show
every store's data in the Airflow UI: logs, XComs). A store is matched by its exact per-store DAG id, never by a
prefix: ``aliexpress_catalog_sync__a__b`` is store ``a__b``'s DAG, not store ``a``'s.

A run's report is one DAG's data of one store: it is shown when the person may read the runs of that DAG and
the DAG holds that store's data (:func:`holds`), exactly as Airflow would show the DAG run itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from aeops.schedules import per_store_dag_id  # the one naming of per-store DAG ids (the DAG files use it)

#: The DAGs whose every run goes through every configured store (DAG ids are contracts: docs/design.md).
ALL_STORE_DAG_IDS: tuple[str, ...] = (
    "aliexpress_catalog_sync",
    "aliexpress_certificate_expiry",
    "aliexpress_certificate_replace",
    "aliexpress_store_settings",
    "aliexpress_logo_rotation",
    "aliexpress_urgent_rerun",
)

#: Of the given DAG ids, the ones whose runs the person may read (one question to the auth manager per id).
ReadableDags = Callable[[Iterable[str]], set[str]]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


StoreT = TypeVar("StoreT", bound=_Named)


def dag_ids_for_store(store: str) -> list[str]:
    """Every DAG id whose runs hold ``store``'s data: the all-store DAGs, then their per-store copies."""
    return [*ALL_STORE_DAG_IDS, *(per_store_dag_id(dag_id, store) for dag_id in ALL_STORE_DAG_IDS)]


def holds(dag_id: str, store: str) -> bool:
    """Whether runs of ``dag_id`` hold ``store``'s data (an all-store DAG, or exactly the store's own copy)."""
    return dag_id in dag_ids_for_store(store)


def visible_stores(stores: Sequence[StoreT], readable: ReadableDags) -> list[StoreT]:
    """The stores (in their configured order) of which the person may read the runs of any DAG holding their data."""
    wanted = {dag_id for store in stores for dag_id in dag_ids_for_store(store.name)}
    allowed = readable(sorted(wanted))
    return [store for store in stores if allowed.intersection(dag_ids_for_store(store.name))]
