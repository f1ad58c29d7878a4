"""A person's approval before aeops uploads a certificate whose issuer or number changed (DAG
``aliexpress_certificate_replace``, task ``approve``: :class:`aeops.hitl.CertificateApprovalOperator`).

The cross-check (:mod:`aeops.rules.cert_crosscheck`) compares the new file with the previous one of its brand and
type. A changed issuer (a renewal from another lab), a number already on another brand's file, or no earlier file
to compare with at all is not proof of a bad certificate, so nothing rejects it: ``validate`` records in the
replacement's ``detail["approval"]`` why it waits and both files side by side (file, issuer, number, issue date,
valid until; :func:`aeops.rules.cert_crosscheck.approval_request`). :func:`approval_form` is the form a person
answers (and one Slack notice saying it waits); :func:`record_decision` keeps the answer on the replacement and on
the registry's file:

- **Approve**: the upload goes on (render, upload, attach, verify); the registry's file counts from the next scan;
- **Reject**: nothing is uploaded or attached; the replacement ends ``declined`` and the registry's file is
  ``rejected`` (the watch reports it once and the previous certificate stays in force);
- **no answer** within the wait: as Reject for this run (the run fails, saying so), but the file stays ``pending``
  in the registry: trigger the DAG again with it to be asked again.

A file the registry already holds as approved is not asked again; ``upload`` itself sends nothing while an approval
is needed and not given.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from aeops.certificates.replacement import dry_run_of, load, update
from aeops.config import AeopsConfig
from aeops.i18n import translator
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger

log = get_logger(__name__)

APPROVE, REJECT = "Approve", "Reject"


def _table(approval: dict[str, Any], _: Any) -> list[str]:
    old, new = approval.get("previous") or {}, approval.get("new") or {}
    rows = [(_("file"), "file"), (_("issuer"), "issuer"), (_("number"), "number"), (_("issue date"), "issue_date"),
            (_("valid until"), "valid_until")]
    head = "| | " + _("previous (in force)") + " | " + _("new (to upload)") + " |"
    lines = [head, "|---|---|---|"]
    for label, key in rows:
        before, after = old.get(key) or "-", new.get(key) or "-"
        mark = " ⚠" if old and before != after and key in ("issuer", "number") else ""
        lines.append(f"| {label}{mark} | {html.escape(str(before))} | {html.escape(str(after))} |")
    return lines


def approval_form(rid: int, *, link: str, wait_hours: float, config: AeopsConfig | None = None,
                  client: Any = None) -> dict[str, Any] | None:
    """The approval form of replacement ``rid`` (None: nothing to ask: no approval needed, already decided, a dry
    run, or the file was rejected by a rule). Posts one Slack notice that it waits, with the link to answer."""
    rep = load(rid, config)
    approval = dict(rep.detail.get("approval") or {})
    if rep.row.status != "running" or dry_run_of(rep) or not approval.get("needed") or approval.get("decision"):
        return None
    _ = translator(rep.ctx.store.language)
    who = f"{rep.row.brand} {rep.row.cert_type}"
    products = len(rep.detail.get("products") or [])
    why = ([_("there is no earlier {type} of {brand} in the registry: its issuer and number cannot be compared "
              "with anything").format(type=rep.row.cert_type, brand=rep.row.brand)] if approval.get("first") else [])
    why += list(approval.get("reasons") or [])
    body = "\n".join([
        _("**{store}**: `{new}` would replace `{old}` on {n} product(s) of {categories}.").format(
            store=rep.row.store, new=(approval.get("new") or {}).get("file", "?"),
            old=(approval.get("previous") or {}).get("file", "-"), n=products,
            categories=", ".join(rep.detail.get("categories") or []) or "-"),
        "",
        _("**Why it waits:**"), *[f"- {html.escape(w)}" for w in why],
        "",
        *_table(approval, _),
        "",
        _("**Approve** uploads it to the photobank and attaches it to those products now; **Reject** uploads "
          "nothing (the previous certificate stays in force and its expiry alerts go on). No answer within "
          "{hours} hours counts as Reject.").format(hours=f"{wait_hours:g}"),
        _("Check the certificate with its issuer first: the platform compares the number and the issuing body "
          "with its own registry."),
    ])
    subject = _("Approve the {who} certificate upload for {store}").format(who=who, store=rep.row.store)
    if not approval.get("asked_at"):
        update(rep, detail={"approval": {**approval, "asked_at": datetime.now(UTC).isoformat(), "link": link}})
        text = "\n".join([_("`{new}` ({changes}) waits for a person before aeops uploads it; no answer within "
                            "{hours} h uploads nothing.").format(
            new=(approval.get("new") or {}).get("file", "?"), changes="; ".join(approval.get("changes") or []),
            hours=f"{wait_hours:g}")])
        send(notice(title=_("Certificate upload waits for approval: {who}").format(who=who), store=rep.row.store,
                    severity="warning", kind="alert", text=text, link=link,
                    link_text=_("Approve or reject in Airflow"), dedupe_key=f"cert-approval:{rep.row.store}:{rid}"),
             store=rep.row.store, config=rep.ctx.config, db_url=rep.ctx.db_url, client=client)
    return {"subject": subject, "body": body, "lang": rep.ctx.store.language}


def _actor(responded_by: Any) -> str | None:
    if isinstance(responded_by, dict):
        return responded_by.get("name") or responded_by.get("id")
    return None


def record_decision(rid: int, chosen: str, responded_by: Any, responded_at: datetime | None, *,
                    config: AeopsConfig | None = None) -> dict[str, Any]:
    """Keep the answer on the replacement and the registry's file; Reject or no answer: ``declined``, nothing
    uploaded. Returns the decision (``approved`` | ``rejected`` | ``timed out``) with who and when."""
    rep = load(rid, config)
    approval = dict(rep.detail.get("approval") or {})
    who = _actor(responded_by)
    decision = "approved" if chosen == APPROVE else "rejected" if who else "timed out"
    at = responded_at if isinstance(responded_at, datetime) else datetime.now(UTC)
    detail = {"decision": decision, "by": who, "at": at.isoformat()}
    update(rep, detail={"approval": {**approval, **detail}})
    if decision != "timed out" and rep.row.new_sha256:
        rep.ctx.ledger.certificates.set_approval(rep.row.store, rep.row.new_sha256, decision, {
            **detail, "run_id": rep.row.run_id, "replacement": rid, "changes": approval.get("changes") or []})
    if decision != "approved":
        update(rep, status="declined", finished_at=datetime.now(UTC))
    log.info("%s: upload of %s %s %s by %s", rep.row.store, rep.row.brand, rep.row.cert_type, decision,
             who or "nobody (no answer in time)")
    return detail
