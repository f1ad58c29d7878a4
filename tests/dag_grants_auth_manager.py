"""A test auth manager that grants DAGs one by one, as FAB's DAG-level permissions do (``can_read`` on
``DAG:<dag_id>``), without installing the FAB provider: Airflow's SimpleAuthManager, except that a user named in
``AEOPS_TEST_DAG_GRANTS`` (JSON ``{"user": ["dag_id", ...]}``) may read only the DAGs listed for them, and no
question about "every DAG" (a check without a DAG id) is answered yes for them. Everyone else keeps
SimpleAuthManager's answers. tests/airflow_server.py starts the api-server with it (``AIRFLOW__CORE__AUTH_MANAGER``).
"""

from __future__ import annotations

import json
import os

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

GRANTS_ENV = "AEOPS_TEST_DAG_GRANTS"


def grants() -> dict[str, set[str]]:
    """Each restricted user's readable DAG ids."""
    return {user: set(dag_ids) for user, dag_ids in json.loads(os.environ.get(GRANTS_ENV) or "{}").items()}


class DagGrantsAuthManager(SimpleAuthManager):
    """SimpleAuthManager with per-DAG read grants for the users listed in ``AEOPS_TEST_DAG_GRANTS``."""

    def is_authorized_dag(self, *, method, user: SimpleAuthManagerUser, access_entity: DagAccessEntity | None = None,
                          details: DagDetails | None = None) -> bool:
        granted = grants().get(user.username)
        if granted is None:
            return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
        return method == "GET" and details is not None and details.id in granted
