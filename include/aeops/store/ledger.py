"""The one handle on the aeops DB: ``Ledger(url)``.

A :class:`Ledger` is bound to one URL: it builds the session factory once, brings the schema up to date once per
process (``migrate=False``: never; the UI's read-only pages) and carries one repository per aggregate
(:mod:`aeops.store.repos`). Every read and write of the aeops DB goes through one of them; each of their methods
is one transaction unless it says otherwise.
"""

from __future__ import annotations

from aeops.store.db import Database
from aeops.store.repos.certificate_registry import CertificateRegistry
from aeops.store.repos.changes import Changes
from aeops.store.repos.export_guards import ExportGuards
from aeops.store.repos.image_reviews import ImageReviews
from aeops.store.repos.person_tasks import PersonTasks
from aeops.store.repos.product_state import ProductStates
from aeops.store.repos.run_failures import RunFailures
from aeops.store.repos.runs import Runs
from aeops.store.repos.slack_outbox import SlackOutboxRows
from aeops.store.repos.store_locks import StoreLocks
from aeops.store.repos.storefront_records import StorefrontRecords
from aeops.store.repos.tokens import Tokens
from aeops.store.repos.verification import Verification


class Ledger(Database):
    """The aeops DB of one deployment, by aggregate: ``runs``, ``changes``, ``products``, ``tokens``,
    ``certificates``, ``person_tasks``, ``outbox``, ``failures``, ``locks``, ``storefront``, ``image_reviews``,
    ``verification`` and ``guards``."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        super().__init__(url, migrate=migrate)
        self.runs = Runs(self)
        self.changes = Changes(self)
        self.products = ProductStates(self)
        self.tokens = Tokens(self)
        self.certificates = CertificateRegistry(self)
        self.person_tasks = PersonTasks(self)
        self.outbox = SlackOutboxRows(self)
        self.failures = RunFailures(self)
        self.locks = StoreLocks(self)
        self.storefront = StorefrontRecords(self)
        self.image_reviews = ImageReviews(self)
        self.verification = Verification(self)
        self.guards = ExportGuards(self)
