"""aeops: Airflow 3 pipelines that keep an AliExpress store's catalog, certificates and settings correct.

Business logic lives in the sub-packages, in layers that import only downward (docs/architecture.md): ``urgent``
above ``sync``, above ``verify``, ``reports`` and ``compliance``, above ``catalog`` (what they share), above
``rules``, ``exports`` and ``notify``, above ``marketplace``, ``store``, ``config`` and ``locations``; the leaves
``errors``, ``findings``, ``secrets`` and ``demo`` import nothing of aeops. DAG files in ``dags/`` only wire it.
"""

__version__ = "0.1.0"
