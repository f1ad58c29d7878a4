"""The aeops DB's repositories: one small class per aggregate, each over the ledger's one session factory, and
the only place SQL is written (``make lint`` forbids SQLAlchemy elsewhere). Reach them through the handle,
:class:`aeops.store.ledger.Ledger`: ``ledger.runs.start(...)``, ``ledger.changes.store_plan(...)``.

- :mod:`~aeops.store.repos.runs`: runs, their milestones, exports and findings (``ledger.runs``);
- :mod:`~aeops.store.repos.changes`: planned changes, their statuses, the API writes that carry them and what
  earlier runs left unsettled (``ledger.changes``);
- :mod:`~aeops.store.repos.product_state`: the last confirmed state of each product (``ledger.products``);
- :mod:`~aeops.store.repos.tokens`: the refreshed tokens, encrypted (``ledger.tokens``);
- :mod:`~aeops.store.repos.certificate_registry`: the certificate registry and replacements
  (``ledger.certificates``);
- :mod:`~aeops.store.repos.person_tasks`: person tasks and their history (``ledger.person_tasks``);
- :mod:`~aeops.store.repos.slack_outbox`: the Slack outbox and its pages (``ledger.outbox``);
- :mod:`~aeops.store.repos.run_failures`: the failures of DAG runs (``ledger.failures``);
- :mod:`~aeops.store.repos.store_locks`: the per-store write lock's rows (``ledger.locks``);
- :mod:`~aeops.store.repos.storefront_records`: store-settings checks, logo changes and reminders
  (``ledger.storefront``);
- :mod:`~aeops.store.repos.image_reviews`: the image detectors' results per image content (``ledger.image_reviews``);
- :mod:`~aeops.store.repos.verification`: verification results and site strikes (``ledger.verification``);
- :mod:`~aeops.store.repos.export_guards`: the daily sync's export guard, its holds and decisions (``ledger.guards``).
"""
