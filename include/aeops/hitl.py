"""Human-in-the-loop operators of aeops (Airflow 3's ``airflow.providers.standard.operators.hitl``).

- :class:`PersonTasksOperator`: one round of asking a person about a store's open seller-center tasks
  (DAG ``aliexpress_store_settings``). The form is built when the task runs (the tasks live in the aeops DB);
  with nothing to ask, or when the previous round closed everything, the task is skipped.
- :class:`OverrideApprovalOperator`: an urgent price override above the approval threshold waits for
  "Approve" (DAG ``aliexpress_urgent_rerun``); below it, or for a dry run, the task is skipped.
- :class:`CertificateApprovalOperator`: a certificate upload whose issuer or number changed (or the first of its
  brand and type) waits for "Approve" (DAG ``aliexpress_certificate_replace``); otherwise the task is skipped.

- :class:`ExportApprovalOperator`: a store's catalog export the export guard holds waits for "Approve" (DAG
  ``aliexpress_catalog_sync``, one per store); not held, decided, or a dry run: the task is skipped.

All four park the task in ``awaiting_input`` (no worker slot is held) until someone answers in the UI
(Browse → Required Actions) or through ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/
{map_index}/hitlDetails``; with no answer within ``response_timeout`` the default answer is taken
("Not done yet", "Reject"). The form (subject, text, answers, the optional note's title and help) is in the
store's language, set when the task runs; an answer in any language is understood. Imported by DAG files at parse
time: aeops' own steps are imported in ``execute``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowSkipException

from aeops.i18n import LANGUAGES, translator
from aeops.notify.messages import api_base_url

DONE, NOT_YET = "Done", "Not done yet"  # the English answers (aeops.storefront.settings_steps translates them)
PERSON_WAIT = timedelta(hours=float(os.environ.get("AEOPS_PERSON_TASK_WAIT_HOURS", "20")))
"""How long one round waits for a person before "Not done yet" is taken (under a day: the next daily run asks
again)."""
APPROVAL_WAIT = timedelta(minutes=float(os.environ.get("AEOPS_URGENT_APPROVAL_WAIT_MINUTES", "60")))
"""How long a risky urgent override waits for approval before it is rejected (nothing written)."""


def _skip(why: str):

    return AirflowSkipException(why)


def _ui_link(operator: HITLOperator, ti: Any) -> str:
    try:
        return operator.generate_link_to_ui(task_instance=ti, base_url=api_base_url())
    except Exception:  # noqa: BLE001 - a link is a convenience, never a reason to fail
        return api_base_url()


class PersonTasksOperator(HITLOperator):
    """Round ``round_no`` of asking a person about a store's seller-center tasks (in a task group mapped over
    stores: ``store_task_id`` names the group's check task whose XCom holds the store)."""

    def __init__(self, *, round_no: int, store_task_id: str, previous_task_id: str | None = None,
                 **kwargs: Any) -> None:

        kwargs.setdefault("response_timeout", PERSON_WAIT)
        params = kwargs.pop("params", None)  # the DAG's params arrive here too; the form keeps only "note"
        form = params if isinstance(params, ParamsDict) else ParamsDict(params or {})
        form["note"] = _note("Note (optional)", "What you did, or why it is not done yet; kept in the task's "
                             "history. Leave it empty if there is nothing to add.")
        super().__init__(
            subject=f"Seller-center tasks (round {round_no})",
            body="The tasks are listed when this round runs.",
            options=[DONE, NOT_YET],
            defaults=[NOT_YET],
            params=form,
            **kwargs,
        )
        self.round_no = round_no
        self.store_task_id = store_task_id
        self.previous_task_id = previous_task_id

    def execute(self, context: Any) -> Any:
        """Ask the person the store's open settings tasks (skipped when the store's check gave none)."""
        from aeops.storefront.settings_steps import ask_form  # lazy: keeps DAG parsing light

        ti = context["ti"]
        checked = ti.xcom_pull(task_ids=self.store_task_id, map_indexes=ti.map_index) or {}
        store = checked.get("store")
        if not store:
            raise _skip("the store's check gave no store")
        if self.previous_task_id:
            previous = ti.xcom_pull(task_ids=self.previous_task_id, map_indexes=ti.map_index) or {}
            if not previous.get("reopened"):
                raise _skip(f"{store}: nothing was reopened in round {self.round_no - 1}")
        form = ask_form(store, ti.run_id, self.round_no, _ui_link(self, ti))
        if form is None:
            raise _skip(f"{store}: no open seller-center task")
        self.subject, self.body = form["subject"], form["body"]
        self.options, self.defaults = list(form["options"]), [form["options"][1]]
        self.params["note"] = _note(form["note"]["title"], form["note"]["description"])
        self.log.info("%s: asking a person about task(s) %s (round %d)", store, form["task_ids"], self.round_no)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Accept the answer in any language and finish as Airflow's HITL operator does."""
        from aeops.storefront.settings_steps import every_answer  # lazy: keeps DAG parsing light

        self.options = every_answer()  # the form was in the store's language: any language's answer is valid
        return super().execute_complete(context, event)


def _note(title: str, description: str) -> Param:
    """The form's one field: an optional note (may stay empty: its type admits null, so no "required" mark)."""
    return Param(None, type=["null", "string"], maxLength=500, title=title, description=description,
                 source="task")


class _ApprovalInLanguage(ApprovalOperator):
    """An approval whose answers are in the store's language (Approve/Reject, 批准/拒绝); an answer in any language
    is understood."""

    def _answers_in(self, lang: str | None) -> None:
        """Approve and Reject in ``lang``, for the form and for reading its answer."""
        _ = translator(lang)
        self.APPROVE, self.REJECT = _(ApprovalOperator.APPROVE), _(ApprovalOperator.REJECT)
        self.options, self.defaults = [self.APPROVE, self.REJECT], [self.REJECT]

    def _approved(self, event: dict[str, Any]) -> bool:
        """True when the answer is Approve in any language (a timeout or an error: Reject)."""
        answered = (event.get("chosen_options") or [None])[0]
        self._answers_in(next((lang for lang in LANGUAGES if answered in _approval_answers(lang)), "en"))
        chosen = (answered or self.REJECT) if "error" not in event else self.REJECT
        return chosen == self.APPROVE


class OverrideApprovalOperator(_ApprovalInLanguage):
    """Approval of a risky urgent price override (the form shows the plan; the wait is outside the deadline)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("response_timeout", APPROVAL_WAIT)
        super().__init__(subject="Approve an urgent price override", body="The plan is shown when this task runs.",
                         defaults="Reject", **kwargs)

    def execute(self, context: Any) -> Any:
        """Ask for approval of an urgent override above the threshold (skipped below it or in a dry run)."""
        from aeops.urgent import approval  # lazy: keeps DAG parsing light

        ti, params = context["ti"], context["params"]
        form = approval.approval_form(params["store"], ti.run_id, dry_run=bool(params["dry_run"]),
                                      link=_ui_link(self, ti), wait_minutes=APPROVAL_WAIT.total_seconds() / 60)
        if form is None:
            raise _skip("below the approval threshold (or a dry run): no approval needed")
        self.subject, self.body = form["subject"], form["body"]
        self.response_timeout = timedelta(minutes=form["wait_minutes"])  # a planned override: until it is due
        self._answers_in(form["lang"])
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Record the person's decision on the override, then finish as Airflow's approval operator does."""
        from aeops.urgent import approval  # lazy: keeps DAG parsing light

        params = context["params"]
        approval.record_decision(params["store"], context["ti"].run_id,
                                 approval.APPROVE if self._approved(event) else approval.REJECT,
                                 event.get("responded_by_user"), event.get("responded_at"))
        return super().execute_complete(context, event)


class PlannedTime(DateTimeSensorAsync):
    """Wait for a planned override's start or end time (``target_time``: an ISO time, templated from the task that
    knows it) deferred in the triggerer, holding no worker slot; a time already past passes at once, without
    deferring (every unplanned urgent run)."""

    def __init__(self, *, longest: timedelta, **kwargs: Any) -> None:
        kwargs.setdefault("execution_timeout", longest)  # the request bounds the wait (PLANNED_MAX_DAYS)
        kwargs.setdefault("timeout", longest.total_seconds())
        super().__init__(**kwargs)

    def execute(self, context: Any) -> Any:
        """Pass at once when the time has passed, else defer until it comes."""
        if self._moment <= datetime.now(UTC):
            self.log.info("%s has passed: no wait", self.target_time)
            return None
        return super().execute(context)


def _approval_answers(lang: str) -> tuple[str, str]:
    _ = translator(lang)
    return _(ApprovalOperator.APPROVE), _(ApprovalOperator.REJECT)


class CertificateApprovalOperator(_ApprovalInLanguage):
    """Approval of a certificate upload whose issuer or number changed (in the task group mapped over replacements:
    ``rid_task_id`` names the group's task whose XCom is the replacement id). The form shows the previous and the new
    file's issuer, number and dates; Reject (or no answer) skips the upload and what follows."""

    def __init__(self, *, rid_task_id: str, **kwargs: Any) -> None:
        super().__init__(subject="Approve a certificate upload",
                         body="The previous and the new certificate are shown when this task runs.", defaults="Reject",
                         **kwargs)
        self.rid_task_id = rid_task_id

    def _rid(self, context: Any) -> int | None:
        ti = context["ti"]
        return ti.xcom_pull(task_ids=self.rid_task_id, map_indexes=ti.map_index)

    def execute(self, context: Any) -> Any:
        """Ask for approval of a certificate upload whose issuer or number changed (skipped when none waits)."""
        from aeops.certificates import upload_approval  # lazy: keeps DAG parsing light

        rid, ti = self._rid(context), context["ti"]
        wait = self.response_timeout.total_seconds() / 3600 if self.response_timeout else 0
        form = upload_approval.approval_form(rid, link=_ui_link(self, ti), wait_hours=wait) if rid else None
        if form is None:
            raise _skip(f"replacement {rid}: nothing waits for a person (no changed issuer or number, decided, "
                        "rejected by a rule, or a dry run)")
        self.subject, self.body = form["subject"], form["body"]
        self._answers_in(form["lang"])
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Record the person's decision on the upload, then finish as Airflow's approval operator does."""
        from aeops.certificates import upload_approval  # lazy: keeps DAG parsing light

        upload_approval.record_decision(self._rid(context),
                                        upload_approval.APPROVE if self._approved(event) else upload_approval.REJECT,
                                        event.get("responded_by_user"), event.get("responded_at"))
        return super().execute_complete(context, event)


class ExportApprovalOperator(_ApprovalInLanguage):
    """Approval of a store's catalog export the export guard holds (in the task group mapped over stores:
    ``store_task_id`` names the group's task whose XCom is the store). The form shows the checks that tripped and
    the largest moves; Reject (or no answer) skips the export: nothing is written."""

    def __init__(self, *, store_task_id: str, **kwargs: Any) -> None:
        super().__init__(subject="Approve a held catalog export",
                         body="The checks and the largest moves are shown when this task runs.", defaults="Reject",
                         **kwargs)
        self.store_task_id = store_task_id

    def _store(self, context: Any) -> str | None:
        ti = context["ti"]
        return ti.xcom_pull(task_ids=self.store_task_id, map_indexes=ti.map_index)

    def execute(self, context: Any) -> Any:
        """Ask the store's person to approve or reject its held export; skipped when nothing is held."""
        from aeops.sync import guard_hold  # lazy: keeps DAG parsing light

        store, ti = self._store(context), context["ti"]
        wait = self.response_timeout.total_seconds() / 3600 if self.response_timeout else 0
        form = guard_hold.approval_form(store, ti.dag_id, ti.run_id, link=_ui_link(self, ti),
                                        wait_hours=wait) if store else None
        if form is None:
            raise _skip(f"{store}: the export guard holds nothing (not held, decided, or a dry run)")
        self.subject, self.body = form["subject"], form["body"]
        self._answers_in(form["lang"])
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Record the person's decision (or the timeout) on the held export, then finish as Airflow does."""
        from aeops.sync import guard_hold  # lazy: keeps DAG parsing light

        ti = context["ti"]
        guard_hold.record_decision(self._store(context), ti.dag_id, ti.run_id,
                                   guard_hold.APPROVE if self._approved(event) else guard_hold.REJECT,
                                   event.get("responded_by_user"), event.get("responded_at"))
        return super().execute_complete(context, event)
