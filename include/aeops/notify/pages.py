"""One page per failing run: the run's failures recorded in ``run_failures`` and posted as one Slack message.

A run can fail in several places: a task's own failure callback, the run's verdict task (the daily sync's
``outcome``, the urgent run's ``report``) and the DAG-level callback. Each of them calls
:func:`aeops.notify.callbacks.record_and_page`: the failure (if it is a new one) goes to ``run_failures``, and the
run's page — every failing task of the run with its store and one-line error, and the stores concerned — is (re)built
from that table and sent with ``fold="replace"`` under one key per DAG run, so Slack shows **one message per run**,
edited in place as more failures come in.

The same table gives the run's report and Slack summary the reason that stopped it (:func:`reasons`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aeops.i18n import ngettext, translator
from aeops.notify.messages import (
    SEVERITY_EMOJI,
    SlackMessage,
    _context,
    _fields,
    _mrkdwn,
    one_line,
    slack_escape,
    task_log_url,
)
from aeops.secrets import get_logger, scrub
from aeops.store.ledger import Ledger

log = get_logger(__name__)

RUN = ""  # task_id of a failure of the run itself (timed out, deadlocked), not of one task
MAX_LISTED = 15  # failing tasks listed on the page; the rest are counted


@dataclass(frozen=True)
class Failure:
    """One failing task of a run (``task_id`` empty: the run itself)."""

    task_id: str
    map_index: int
    store: str | None
    error: str
    try_number: int | None = None
    at: datetime | None = None

    @property
    def key(self) -> str:
        """How Airflow's task-state API names this task instance (``task_id`` or ``task_id_<map index>``)."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}_{self.map_index}"

    @property
    def label(self) -> str:
        """The failing task as a page lists it (``task[map index]``, or "(the run)")."""
        if not self.task_id:
            return "(the run)"
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"

    def line(self) -> str:
        """``task[i] (store demo): Error: one line``."""
        where = f" (store {self.store})" if self.store else ""
        return f"{self.label}{where}: {self.error}"


def page_key(dag_id: str, run_id: str) -> str:
    """The one outbox key of a DAG run's page (short and fixed-length: run ids can be long)."""
    return "run-page:" + hashlib.sha256(f"{dag_id}\x1f{run_id}".encode()).hexdigest()[:32]


def record(db_url: str, dag_id: str, run_id: str, failure: Failure) -> bool:
    """Record a failure once per (run, task, map index); True when it is new (a later try updates its error)."""
    return Ledger(db_url, migrate=False).failures.record(
        dag_id, run_id, task_id=failure.task_id, map_index=failure.map_index, store=failure.store,
        error=one_line(failure.error), try_number=failure.try_number)


def failures_of_run(db_url: str, dag_id: str, run_id: str, store: str | None = None) -> list[Failure]:
    """The run's failures in the order they happened; with ``store``: that store's and those of no store."""
    rows = Ledger(db_url, migrate=False).failures.of_run(dag_id, run_id, store)
    return [Failure(r.task_id, r.map_index, r.store, r.error, r.try_number, r.created_at) for r in rows]


def reasons(db_url: str, dag_id: str, run_id: str, store: str | None = None) -> list[str]:
    """What stopped the run (for its report and summary): one line per failing task, e.g.
    ``plan: RequestError: price file x line 2 price 'abc' is not a number``."""
    try:
        return [f.line() for f in failures_of_run(db_url, dag_id, run_id, store)]
    except Exception as exc:  # noqa: BLE001 - a report without reasons beats no report
        log.warning("run failures could not be read (%s: %s)", type(exc).__name__, exc)
        return []


def verdict(db_url: str, dag_id: str, run_id: str, failed_tasks: Sequence[str],
            problems: Sequence[str] = ()) -> str | None:
    """The one line a run fails with, None when its work did not fail.

    ``failed_tasks``: the run's task instances Airflow records as failed (its state is the authority: a task that
    failed and was cleared and re-run successfully does not count), each shown with the error its failure callback
    recorded; ``problems``: what the verdict itself found (e.g. stores that could not be synced)."""
    recorded = {f.key: f for f in failures_of_run(db_url, dag_id, run_id)} if failed_tasks else {}
    lines = [*problems, *(recorded[k].line() if k in recorded else f"{k}: failed (see its log)"
                          for k in failed_tasks)]
    return "; ".join(lines) if lines else None


def failure_page(dag_id: str, run_id: str, failures: Sequence[Failure], *, store: str | None = None,
                 base_url: str | None = None, lang: str | None = "en") -> SlackMessage:
    """The run's one Slack message, in ``lang``: every failing task with its store and error, the stores, a link
    to the run. Task ids, DAG ids and the errors themselves stay as Airflow and the code wrote them."""
    _, n_ = translator(lang), ngettext(lang)
    stores = sorted({f.store for f in failures if f.store} | ({store} if store else set()))
    tasks = [f for f in failures if f.task_id]
    count = n_("{n} failing task", "{n} failing tasks", len(tasks)).format(n=len(tasks)) if tasks else _("failed")
    listed = ", ".join(stores)
    if stores:
        headline = n_("Run of {dag} failed for store {stores}", "Run of {dag} failed for stores {stores}",
                      len(stores)).format(dag=dag_id, stores=listed)
        title = n_("Run of `{dag}` failed ({count}) for store {stores}",
                   "Run of `{dag}` failed ({count}) for stores {stores}",
                   len(stores)).format(dag=slack_escape(dag_id), count=count, stores=slack_escape(listed))
    else:
        headline = _("Run of {dag} failed").format(dag=dag_id)
        title = _("Run of `{dag}` failed ({count})").format(dag=slack_escape(dag_id), count=count)
    text = f"{headline}: " + "; ".join(_line(f, _) for f in failures[:3])
    if len(failures) > 3:
        text += "; " + _("and {n} more").format(n=len(failures) - 3)
    lines = []
    for f in failures[:MAX_LISTED]:
        link = task_log_url(dag_id, run_id, f.task_id or None, map_index=f.map_index,
                            try_number=f.try_number, base_url=base_url)
        where_f = " · " + _("store *{store}*").format(store=slack_escape(f.store)) if f.store else ""
        lines.append(f"• <{link}|{slack_escape(_label(f, _))}>{where_f}\n      `{slack_escape(f.error)}`")
    if len(failures) > MAX_LISTED:
        more = _("…and {n} more failing tasks (see the run)").format(n=len(failures) - MAX_LISTED)
        lines.append(f"_{more}_")
    failing_title, see_run = _("Failing tasks"), _("(see the run)")
    open_run = _("Open the run in Airflow")
    one_message = _("one message per run: it is updated as more tasks fail")
    blocks = [
        _mrkdwn(f"{SEVERITY_EMOJI['error']} *{title}*"),
        _fields([("DAG", dag_id), (_("Run"), run_id), (_("Stores"), listed or "-")]),
        _mrkdwn(f"*{failing_title}*\n" + ("\n".join(lines) if lines else f"_{see_run}_")),
        _context(f"<{task_log_url(dag_id, run_id, base_url=base_url)}|{open_run}> · {one_message}"),
    ]
    return SlackMessage(text=one_line(text, 1000), blocks=scrub(blocks), kind="alert", severity="error",
                        store=stores[0] if len(stores) == 1 else None, dedupe_key=page_key(dag_id, run_id),
                        fold="replace")


def _label(failure: Failure, _: Callable[[str], str]) -> str:
    """The failure's task label in the page's language (the run itself has no task id)."""
    return failure.label if failure.task_id else _("(the run)")


def _line(failure: Failure, _: Callable[[str], str]) -> str:
    """``task[i] (store demo): error`` in the page's language."""
    if failure.store:
        return _("{task} (store {store}): {error}").format(task=_label(failure, _), store=failure.store,
                                                           error=failure.error)
    return f"{_label(failure, _)}: {failure.error}"
