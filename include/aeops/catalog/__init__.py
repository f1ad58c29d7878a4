"""What the daily sync, verification and the urgent re-run share (docs/architecture.md).

- :mod:`~aeops.catalog.model`: the canonical product shape (from an export's rows, from the platform);
- :mod:`~aeops.catalog.diff`: the minimal change set; :mod:`~aeops.catalog.drift`: which products to re-read;
- ``ChangeStatus`` and its groups: :mod:`aeops.store.status`; every record of runs, exports, findings, states, changes
  and writes: the ledger's repositories (:mod:`aeops.store.repos`, reached through :class:`aeops.store.ledger.Ledger`);
- :mod:`~aeops.catalog.push`: one recorded, resumable batch write; :mod:`~aeops.catalog.batching`: batches
  and push chunks; :mod:`~aeops.catalog.lock`: the per-store write lock;
- :mod:`~aeops.catalog.context`: ``RunContext``, ``client_for`` (every task's marketplace client), ``list_stores``;
  :mod:`~aeops.catalog.credentials`: the newest tokens of a store's connection for every client;
- :mod:`~aeops.catalog.timestamps`: platform times, a store's "today";
- :mod:`~aeops.catalog.validation`: ``validate_export`` (read an export, run every rule).
"""
