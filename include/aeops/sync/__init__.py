"""The daily catalog sync (DAG ``aliexpress_catalog_sync``), one module per step:

- :mod:`~aeops.sync.preflight`: credentials, token refresh, account standing;
- :mod:`~aeops.sync.intake`: the newest export, recorded (skipped when already synced);
- :mod:`~aeops.sync.validate` and :mod:`~aeops.sync.staged_images`: every rule, safe image fixes;
- :mod:`~aeops.sync.planning`: the minimal change set;
- :mod:`~aeops.sync.pushing`: push chunks under the store's write lock;
- :mod:`~aeops.sync.finish` and :mod:`~aeops.sync.summary`: verification's result, the report, Slack.

Every step takes the store name and the Airflow run's identity, loads the settings and the ledger itself, and
may be re-run: it re-reads what earlier attempts recorded and only does what is left.
"""
