"""aeops: Airflow 3 pipelines that keep an AliExpress store's catalog, certificates and settings correct.

Business logic lives in the sub-packages (exports, rules, marketplace, sync, verify, notify, store, reports);
DAG files in ``dags/`` only wire it together.
"""

__version__ = "0.1.0"
