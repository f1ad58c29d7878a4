"""### Certificate replacement on the platform

**What it does.** Puts a new certificate on every product of its brand in the categories that need its type,
then checks that they sell again. For each requested replacement:

- validate the PDF (every certificate rule; its number and issuer against the registry), render page 1 as a JPEG;
- a changed issuer or number against the brand's previous certificate of the type (or none to compare with) waits
  for a person (`approve`: the form shows the old and new issuer, number and dates; Reject uploads nothing);
- upload it to the photobank and change each product's qualification (recorded, resumable batches in the
  `aliexpress_api` pool, under the store's write lock);
- wait until every product is `onSelling` with the new image (`cert_replace_restore_minutes`, 2 hours), report.

The certificate registry records each replacement (old file, new file, reason, run).

**When it runs.** As soon as the certificate watch sees a new file replace an older one in a store's folder
(the Asset `aeops_certificate_replacements`; no person needed), or triggered by hand with Params `store`,
`certificate`, `reason`, `dry_run`, `as_of`.

**What you see.** A report (HTML and CSV) and a Slack message: the products restored, and those not restored
with the platform's reason.

**Where the logic lives.** `aeops.certificates.replacement` and `aeops.certificates.replacement_check`;
docs/compliance.md.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task, task_group

from aeops.dag_defaults import (
    API_POOL,
    CERT_APPROVAL_WAIT,
    CERT_REPLACE_RUN_TIMEOUT,
    CERT_REPLACE_TASK_TIMEOUT,
    as_of_param,
    certificate_replacements_asset,
    default_args,
)
from aeops.hitl import CertificateApprovalOperator
from aeops.notify.callbacks import on_failure_callback

LOCK_POKE_SECONDS = float(os.environ.get("AEOPS_CERT_REPLACE_LOCK_POKE_SECONDS", "15"))
VERIFY_POKE_SECONDS = float(os.environ.get("AEOPS_CERT_REPLACE_VERIFY_POKE_SECONDS", "60"))
RESTORE_HOURS = float(os.environ.get("AEOPS_CERT_REPLACE_RESTORE_HOURS", "2"))
PRIORITY = 100  # an emergency: ahead of the daily sync's tasks whenever both wait for a worker


@dag(
    dag_id="aliexpress_certificate_replace",
    schedule=[certificate_replacements_asset()],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    dagrun_timeout=CERT_REPLACE_RUN_TIMEOUT,
    tags=["aeops", "compliance", "certificates", "manual"],
    doc_md=__doc__,
    default_args=default_args(retry_delay=timedelta(seconds=10), priority_weight=PRIORITY, weight_rule="absolute",
                              execution_timeout=CERT_REPLACE_TASK_TIMEOUT),
    on_failure_callback=on_failure_callback(),
    params={
        "store": Param("", type="string", maxLength=100, title="Store",
                       description="The store whose products get the certificate (as configured in aeops_config); "
                       "empty with no certificate: every store's replacements the certificate watch requested"),
        "certificate": Param("", type="string", maxLength=2000, title="Certificate",
                             description="Path, file:// or storage URL, or http(s) URL of the new certificate PDF "
                             "(<Brand>_<Type>_<YYYYMMDD>.pdf); empty: what the certificate watch requested"),
        "reason": Param("", type="string", maxLength=500, title="Reason",
                        description="Why the certificate is replaced (kept in the registry and posted to Slack)"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Validate, render and list the products; upload and write nothing"),
        "as_of": as_of_param("Check the certificate as if today were this date (YYYY-MM-DD); empty: today in "
                             "the store's time zone"),
    },
)
def aliexpress_certificate_replace():
    @task(retries=0)
    def requests(params=None, run_id=None) -> list[int]:
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.certificates import replacement

        try:
            return replacement.requests(dict(params), run_id)
        except replacement.ReplaceError as exc:
            raise AirflowFailException(str(exc)) from None

    @task_group
    def replace_certificate(rid: int):
        @task
        def validate(rid: int) -> int:
            from aeops.certificates import replacement

            replacement.validate(rid)
            return rid

        @task
        def render(rid: int) -> int:
            from aeops.certificates import replacement

            replacement.render(rid)
            return rid

        # none_failed: runs when `approve` was skipped (nothing to approve); a Reject skips it explicitly
        @task(pool=API_POOL, trigger_rule="none_failed")
        def upload(rid: int) -> int:
            from airflow.sdk.exceptions import AirflowSkipException

            from aeops.certificates import replacement

            if replacement.upload(rid).get("skipped") == "declined":  # the Reject's skip does not reach a mapped task
                raise AirflowSkipException("the upload was not approved: nothing uploaded")
            return rid

        @task(pool=API_POOL)
        def plan(rid: int) -> int:
            from aeops.certificates import replacement

            replacement.plan(rid)
            return rid

        @task.sensor(mode="reschedule", poke_interval=LOCK_POKE_SECONDS, timeout=timedelta(hours=1).total_seconds(),
                     pool=API_POOL)
        def push(rid: int, run_id=None) -> bool:
            """The qualification writes under the store's write lock; waits without a slot while it is busy."""
            from aeops.certificates import replacement

            return replacement.push(rid, task=f"push r{rid}", poke_s=LOCK_POKE_SECONDS) is not None

        @task.sensor(mode="reschedule", poke_interval=VERIFY_POKE_SECONDS, exponential_backoff=True,
                     max_wait=timedelta(minutes=10), timeout=timedelta(hours=RESTORE_HOURS + 1).total_seconds(),
                     pool=API_POOL)
        def verify(rid: int) -> bool:
            """Every product onSelling with the new image (or the restore deadline passed), no slot held between
            pokes."""
            from aeops.certificates import replacement_check

            return replacement_check.poke(rid)

        @task(trigger_rule="all_done", retries=1)
        def report(rid: int) -> dict:
            from aeops.certificates import replacement_check

            return replacement_check.report(rid)

        checked = validate(rid)
        rendered = render(checked)
        approve = CertificateApprovalOperator(task_id="approve", rid_task_id="replace_certificate.validate",
                                              response_timeout=CERT_APPROVAL_WAIT, retries=0)
        uploaded = upload(rendered)
        rendered >> approve >> uploaded
        planned = plan(uploaded)
        pushed = push(planned)
        verified = verify(planned)
        pushed >> verified
        done = report(rid)
        verified >> done

    replace_certificate.expand(rid=requests())


aliexpress_certificate_replace()
