"""A store's catalog health, read from the aeops DB for the UI plugin's health page (read-only).

One :func:`store_health` call gathers what an operations lead looks at in the morning: the last runs, the
findings by code over the last 30 daily syncs, verification and marketplace completion, site strikes,
certificates by days left, open person tasks, urgent runs against their deadlines and the Slack outbox.

Person tasks are the seller-center work aeops tracks until it is verified (:mod:`aeops.store.repos.person_tasks`:
store settings, logo rotations, new-product images, image reviews); the page lists the store's open ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aeops.catalog.timestamps import aware, today_in
from aeops.config import StoreConfig
from aeops.rules.documents import type_label
from aeops.store.ledger import Ledger
from aeops.store.models import SiteStrike, SyncRun

DAILY_DAG_ID = "aliexpress_catalog_sync"  # the DAG ids are a contract (docs/design.md)
URGENT_DAG_ID = "aliexpress_urgent_rerun"
TREND_RUNS = 30
RECENT_RUNS = 10
CERT_SHOWN = ("valid", "expiring", "expired", "invalid")


@dataclass
class StoreHealth:
    """What the health page shows of a store: recent runs, trends, completion, strikes, certificates."""
    store: StoreConfig
    runs: list[SyncRun] = field(default_factory=list)
    trend: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # oldest first: (run label, by code)
    totals: list[tuple[str, int]] = field(default_factory=list)  # findings by code over the trend's runs
    completion: list[dict[str, Any]] = field(default_factory=list)  # newest first, verified daily runs
    strikes_total: int = 0
    strikes: list[SiteStrike] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    person_tasks: list[dict[str, Any]] = field(default_factory=list)
    urgent: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)  # planned price overrides, newest first
    outbox: dict[str, Any] = field(default_factory=dict)

    @property
    def last_run(self) -> SyncRun | None:
        """The store's newest sync run (None: none yet)."""
        return self.runs[0] if self.runs else None

    @property
    def latest_completion(self) -> dict[str, Any] | None:
        """The newest verified daily run's completion (None: none yet)."""
        return self.completion[0] if self.completion else None



def _runs(ledger: Ledger, store: str, dag_id: str | None, limit: int) -> list[SyncRun]:
    return ledger.runs.recent(store, dag_id, limit=limit)


def trend(ledger: Ledger, store: str) -> tuple[list[tuple[str, dict[str, int]]], list[tuple[str, int]]]:
    """Findings by code of the store's last 30 daily syncs (oldest first) and their totals (largest first)."""
    runs = list(reversed(_runs(ledger, store, DAILY_DAG_ID, TREND_RUNS)))
    by_run = ledger.runs.findings_by_code_of_runs(r.id for r in runs)
    columns = [(r.started_at.strftime("%m-%d") if r.started_at else r.run_id, by_run.get(r.id, {})) for r in runs]
    totals: dict[str, int] = {}
    for _label, codes in columns:
        for code, n in codes.items():
            totals[code] = totals.get(code, 0) + n
    return columns, sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def completion(runs: list[SyncRun]) -> list[dict[str, Any]]:
    """Verification's and the marketplace's completion figures of the verified runs, newest first."""
    rows = []
    for run in runs:
        counts = run.counts or {}
        share = counts.get("verified_share", counts.get("completion_rate"))  # completion_rate: older runs
        if share is not None:
            rows.append({"run": run, "rate": share,
                         "marketplace": counts.get("marketplace_completion_rate"),
                         "verified": counts.get("verified", 0), "failed": counts.get("verify_failed", 0)})
    return rows


def certificates(ledger: Ledger, store: StoreConfig) -> list[dict[str, Any]]:
    """The store's registered certificates and compliance documents (brand authorisations, category admissions)
    with the days left in the store's time zone, soonest first; ``label`` is how a person reads the type (English:
    the page translates it), ``approval`` a person's pending or given word on a changed issuer or number."""
    today = today_in(store.timezone)
    rows = ledger.certificates.in_status(store.name, CERT_SHOWN)
    found = []
    for row in rows:
        days = (row.valid_until - today).days if row.valid_until else None
        tone = "bad" if row.status in ("expired", "invalid") or (days is not None and days < 0) else (
            "warn" if days is not None and days <= 30 else "ok")
        found.append({"brand": row.brand, "type": row.cert_type, "file": row.file.replace("\\", "/").rsplit("/", 1)[-1],
                      "valid_until": row.valid_until, "days_left": days, "status": row.status, "tone": tone,
                      "label": type_label(row.cert_type), "approval": row.approval})
    return sorted(found, key=lambda c: (c["days_left"] is None, c["days_left"] if c["days_left"] is not None else 0))


def strikes(ledger: Ledger, store: str) -> tuple[int, list[SiteStrike]]:
    """How many site strikes the store has, and the five newest."""
    return ledger.verification.strikes(store, last=5)


def person_tasks(ledger: Ledger, store: str) -> list[dict[str, Any]]:
    """The store's open person tasks, oldest first: what to do, how often a person was asked, since when."""
    return [{"id": t.id, "kind": t.kind, "title": t.title, "rounds": t.rounds, "opened_at": t.opened_at,
             "differences": list(t.detail.get("differences") or [])}
            for t in ledger.person_tasks.open_tasks(store)]


def urgent_runs(ledger: Ledger, store: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The store's last urgent re-runs against their deadlines: on time, late, or how much time is left."""
    now = now or datetime.now(UTC)
    found = []
    for run in _runs(ledger, store, URGENT_DAG_ID, RECENT_RUNS):
        deadline = (run.artifacts or {}).get("deadline") or {}
        due = aware(datetime.fromisoformat(deadline["due_at"])) if deadline.get("due_at") else None
        triggered = aware(datetime.fromisoformat(deadline["triggered_at"])) if deadline.get("triggered_at") else None
        finished = run.finished_at
        end = finished or now
        minutes = round((end - triggered).total_seconds() / 60, 1) if triggered else None
        if due is None:
            verdict = "unknown"
        elif finished is not None:
            verdict = "on_time" if finished <= due else "late"
        else:
            verdict = "running" if now <= due else "overdue"
        found.append({"run": run, "triggered": triggered, "due": due, "finished": finished, "minutes": minutes,
                      "deadline_minutes": deadline.get("deadline_minutes"), "verdict": verdict,
                      "request": (run.artifacts or {}).get("request") or {}})
    return found


PLANNED_RUNS = 50  # urgent runs looked through for planned overrides


def planned_overrides(ledger: Ledger, store: StoreConfig, now: datetime | None = None) -> list[dict[str, Any]]:
    """The store's planned price overrides (urgent runs with a ``start_at``), newest first: when each starts and
    ends, the approval's state (``waiting``, ``approved``, ``rejected``, ``timed out``, ``not needed``) and its phase
    (``waiting`` for the start, ``started``, ``ended``)."""

    now = now or datetime.now(UTC)
    found = []
    for run in _runs(ledger, store.name, URGENT_DAG_ID, PLANNED_RUNS):
        request = (run.artifacts or {}).get("request") or {}
        if not request.get("start_at"):
            continue
        deadline = (run.artifacts or {}).get("deadline") or {}
        starts = aware(datetime.fromisoformat(deadline["triggered_at"])) if deadline.get("triggered_at") else None
        ends = None
        if request.get("end_at"):
            ends = datetime.fromisoformat(request["end_at"])
            ends = ends if ends.tzinfo else ends.replace(tzinfo=ZoneInfo(store.timezone))
        marks = ledger.runs.milestones(run.id)
        if "approval" in marks:
            approval = str(marks["approval"].detail.get("decision") or "")
        else:
            approval = "waiting" if "approval-asked" in marks else "not needed"
        if run.status == "rejected" or approval in ("rejected", "timed out"):
            phase = "cancelled"
        elif ends is not None and now >= ends:
            phase = "ended"
        elif starts is not None and now < starts:
            phase = "waiting"
        else:
            phase = "started"
        found.append({"run": run, "starts": starts, "ends": ends, "approval": approval, "phase": phase,
                      "request": request})
    return found


def outbox(ledger: Ledger, store: str) -> dict[str, Any]:
    """The store's Slack outbox: messages by status, the oldest waiting one and the last error."""
    by_status, oldest, error = ledger.outbox.of_store(store)
    waiting = by_status.get("pending", 0) + by_status.get("sending", 0)
    return {"by_status": by_status, "waiting": waiting, "failed": by_status.get("failed", 0),
            "oldest_waiting": oldest, "last_error": error[:300] if error else None,
            "tone": "bad" if by_status.get("failed") else ("warn" if waiting else "ok")}


def store_health(ledger: Ledger, store: StoreConfig, now: datetime | None = None) -> StoreHealth:
    """Everything the health page shows for one store."""
    health = StoreHealth(store=store)
    health.runs = _runs(ledger, store.name, None, RECENT_RUNS)
    health.trend, health.totals = trend(ledger, store.name)
    health.completion = completion(_runs(ledger, store.name, DAILY_DAG_ID, TREND_RUNS))
    health.strikes_total, health.strikes = strikes(ledger, store.name)
    health.certificates = certificates(ledger, store)
    health.person_tasks = person_tasks(ledger, store.name)
    health.urgent = urgent_runs(ledger, store.name, now)
    health.planned = planned_overrides(ledger, store, now)
    health.outbox = outbox(ledger, store.name)
    return health
