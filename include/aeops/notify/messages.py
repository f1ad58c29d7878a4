"""Block Kit messages aeops posts: failure alerts, run summaries (with thread details) and notices.

Every builder returns a :class:`SlackMessage`; nothing here talks to Slack or the database. The
outbox (:mod:`aeops.notify.outbox`) picks the channel from ``severity``, folds duplicates by
``dedupe_key`` and threads by ``thread_key``.

Messages carry only what an operator needs: store, DAG, task, run, one line of error, counts, links,
and for findings the SKU, field and message (never whole export rows, never credentials).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from aeops.secrets import scrub, scrub_text

ERROR_LINE_MAX = 300
SECTION_MAX = 2900  # Block Kit section text limit is 3000 characters
DEFAULT_API_BASE_URL = "http://localhost:8080"

# What to do about each finding code: one short instruction an operator can act on.
ADVICE: dict[str, str] = {
    "SKU-MISSING": "Fill in the SKU code in the ERP export.",
    "SKU-CHARS": "Remove & # / and other banned characters from the SKU code in the ERP.",
    "SKU-DUPLICATE": "Give each SKU a unique code in the ERP export.",
    "PRODUCT-ID-INVALID": "Fix the product id (digits only) in the export.",
    "TITLE-MISSING": "Add a title in the ERP.",
    "TITLE-TOO-LONG": "Shorten the title in the ERP.",
    "PRICE-INVALID": "Fix the price (a positive number) in the ERP.",
    "DISCOUNT-INVALID": "Make the discount price positive and below the price.",
    "STOCK-INVALID": "Fix the stock (a whole number, 0 or more) in the ERP.",
    "FREIGHT-TEMPLATE-UNKNOWN": "Use a shipping template id that exists in the seller center.",
    "IMG-MISSING": "Add the main image file or fix its path.",
    "IMG-UNREADABLE": "Re-export the main image as a valid JPEG or PNG.",
    "IMG-TOO-BIG": "Compress the main image below the size limit.",
    "ERR-207": "Replace the main image with one of at least 800x800 px.",
    "IMG-TRANSPARENT": "Flatten the transparent PNG onto white (auto-fix available) or re-export.",
    "IMG-BACKGROUND": "Use a pure white background for apparel main images.",
    "CERT-NAME": "Rename the file to <Brand>_<CertificateType>_<ValidUntilYYYYMMDD>.pdf.",
    "CERT-UNREADABLE": "Re-scan the certificate as a text PDF.",
    "CERT-MISMATCH": "Make the file name agree with the certificate's own number, issuer and dates.",
    "CERT-VALIDITY": "Check the validity period; CE may be valid for at most 2 years.",
    "CERT-EXPIRING": "Order the renewed certificate now and upload it before expiry.",
    "ERR-412": "Upload a valid certificate now: the category's products are delisted.",
    "CERT-MISSING": "Upload the certificate the category needs for this brand.",
    "LOGO-SIZE": "Use a logo of at least 800x800 px.",
    "LOGO-FORMAT": "Use a PNG logo.",
    "LOGO-STALE": "Rotate the store logo (at least once a quarter).",
    "FILE-UNREADABLE": "Check that the ERP wrote a complete, readable export.",
    "FILE-ENCODING": "Export as UTF-8 (or GB18030) text.",
    "FILE-COLUMNS": "Add the missing columns to the ERP export.",
}

SEVERITY_EMOJI = {"error": ":red_circle:", "warning": ":warning:", "info": ":white_check_mark:"}


@dataclass(slots=True)
class SlackMessage:
    """A message ready for the outbox.

    ``severity`` (error | warning | info) picks the channel unless ``channel`` is set;
    ``dedupe_key`` folds identical messages inside the fold window; ``thread_key`` groups a run's
    summary (the thread parent) and its details (replies).
    """

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "notice"  # alert | summary | detail | notice
    severity: str = "info"
    store: str | None = None
    dedupe_key: str | None = None
    thread_key: str | None = None
    channel: str | None = None

    def payload(self) -> dict[str, Any]:
        """The ``chat.postMessage`` arguments other than channel/thread (stored in the outbox)."""
        return {"text": self.text, "blocks": self.blocks}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def one_line(error: object, limit: int = ERROR_LINE_MAX) -> str:
    """An exception or text as one scrubbed line: ``Type: first line``, at most ``limit`` characters."""
    if error is None:
        return "unknown error"
    if isinstance(error, BaseException):
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        line = f"{type(error).__name__}: {first}" if first else type(error).__name__
    else:
        lines = str(error).strip().splitlines()
        line = lines[0] if lines else "unknown error"
    line = scrub_text(re.sub(r"\s+", " ", line))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def api_base_url() -> str:
    """The Airflow UI base: ``AIRFLOW__API__BASE_URL``, else ``[api] base_url``, else localhost:8080."""
    env = os.environ.get("AIRFLOW__API__BASE_URL")
    if env:
        return env.rstrip("/")
    try:
        from airflow.configuration import conf

        value = conf.get("api", "base_url", fallback=None)
    except Exception:  # noqa: BLE001 - outside Airflow (CLI, unit tests) the default is fine
        value = None
    return (value or DEFAULT_API_BASE_URL).rstrip("/")


def task_log_url(
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    *,
    map_index: int | None = None,
    try_number: int | None = None,
    base_url: str | None = None,
) -> str:
    """The Airflow 3 UI page of a task try (its log), or of the run when ``task_id`` is None.

    Same route as ``RuntimeTaskInstance.log_url``: ``{base}/dags/{dag}/runs/{run}/tasks/{task}``
    plus ``/mapped/{i}`` for mapped tasks and ``?try_number=N``.
    """
    base = (base_url or api_base_url()).rstrip("/")
    url = f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if task_id is None:
        return url
    url += f"/tasks/{quote(task_id, safe='')}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    if try_number is not None and try_number > 0:
        url += f"?try_number={try_number}"
    return url


def _short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _mrkdwn(text: str) -> dict[str, Any]:
    text = text if len(text) <= SECTION_MAX else text[: SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _fields(pairs: Iterable[tuple[str, object]]) -> dict[str, Any]:
    items = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in pairs if v not in (None, "")]
    return {"type": "section", "fields": items[:10]}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_MAX]}]}


def _escape(text: object) -> str:
    """Escape Slack's control characters (& < >) in user data."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _store_from_context(context: Mapping[str, Any]) -> str | None:
    params = context.get("params") or {}
    try:
        store = params.get("store")
    except AttributeError:
        store = None
    return str(store) if store else None


def failure_alert(
    context: Mapping[str, Any], *, store: str | None = None, base_url: str | None = None
) -> SlackMessage:
    """The alert for a failed task (task-level context) or DAG run (DAG-level context).

    Shows store, DAG, task, run, the error in one line and a link to the task's log in the Airflow UI.
    Identical failures (same store, DAG, task and error line) share a ``dedupe_key`` so they fold.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    dag_id = (
        getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None) or "?"
    )
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None) or "?"
    store = store or _store_from_context(context)
    # A DAG-level callback context has a "reason" (and, in Airflow 3, the run's last task instance as
    # "ti") but no "exception"; a task-level one has "exception".
    dag_level = ti is None or (context.get("reason") is not None and context.get("exception") is None)
    task_id = None if dag_level else getattr(ti, "task_id", None)
    last_task = getattr(ti, "task_id", None) if dag_level else None
    task_field = task_id or (f"(whole run; last task {last_task})" if last_task else "(whole run)")
    error = context.get("exception")
    if error is None:
        error = context.get("reason") or "failed"
    error_line = one_line(error)
    url = task_log_url(
        dag_id,
        run_id,
        task_id,
        map_index=None if dag_level else getattr(ti, "map_index", None),
        try_number=None if dag_level else getattr(ti, "try_number", None),
        base_url=base_url,
    )
    what = f"Task `{task_id}`" if task_id else f"DAG run of `{dag_id}`"
    where = f" for store *{_escape(store)}*" if store else ""
    text = f"{what} failed{where}: {error_line}"
    blocks = [
        _mrkdwn(f"{SEVERITY_EMOJI['error']} *{what} failed*{where}"),
        _fields([("Store", store or "-"), ("DAG", dag_id), ("Task", task_field), ("Run", run_id)]),
        _mrkdwn(f"*Error*\n```{_escape(error_line)}```"),
        _context(f"<{url}|Open the {'task log' if task_id else 'run'} in Airflow>"),
    ]
    return SlackMessage(
        text=text,
        blocks=scrub(blocks),
        kind="alert",
        severity="error",
        store=store,
        dedupe_key=f"failure:{_short_hash(store, dag_id, task_id, error_line)}",
        thread_key=None,
    )


def _finding_dict(finding: Any) -> dict[str, Any]:
    keys = ("code", "severity", "sku_code", "field", "message")
    if hasattr(finding, "to_dict"):
        finding = finding.to_dict()
    elif not isinstance(finding, Mapping):  # e.g. a stored aeops.store.models.Finding row
        return {k: getattr(finding, k, None) for k in keys}
    return {k: finding.get(k) for k in keys}


def finding_line(finding: Any) -> str:
    """``*CODE* SKU `x` · field: message → what to do`` (SKU, field and message only)."""
    f = _finding_dict(finding)
    parts = [f"*{_escape(f['code'])}*"]
    if f.get("sku_code"):
        parts.append(f"SKU `{_escape(f['sku_code'])}`")
    if f.get("field"):
        parts.append(f"{_escape(f['field'])}:")
    parts.append(_escape(one_line(f.get("message") or "", 200)))
    advice = ADVICE.get(str(f["code"]))
    line = " ".join(parts)
    return f"{line} → {advice}" if advice else line


def sync_summary(
    *,
    store: str,
    dag_id: str,
    run_id: str,
    rows: int,
    findings_by_code: Mapping[str, int],
    pushed: int,
    failed: int,
    verified: int,
    completion_rate: float | None = None,
    report_url: str | None = None,
    top_findings: Sequence[Any] = (),
    max_top: int = 5,
    verified_share: float | None = None,
    in_review: int = 0,
) -> SlackMessage:
    """One message per run: counts, findings by code, pushed/failed/verified, completion rate, report link.

    ``completion_rate`` is the marketplace's own "information update completion rate" (None: not available);
    ``verified_share`` is aeops's own figure (updates seen on the storefront / updates checked), shown under
    its own name beside it; ``in_review`` counts updates still in the marketplace's review.

    ``top_findings`` are :class:`aeops.findings.Finding` objects or their ``to_dict()``; the first
    ``max_top`` are listed with what to do. The message is the parent of the run's thread
    (``thread_key`` = ``run_id``); use :func:`summary_details` for the rest.
    """
    total_findings = sum(findings_by_code.values())
    rate = "-" if completion_rate is None else f"{completion_rate * 100:.1f}%"
    share = "-" if verified_share is None else f"{verified_share * 100:.1f}%"
    healthy = failed == 0 and not in_review and (completion_rate is None or completion_rate >= 1.0)
    emoji = SEVERITY_EMOJI["info" if healthy else "warning"]
    headline = (
        f"Catalog sync for *{_escape(store)}*: {rows} rows, {pushed} pushed, {failed} failed, "
        f"{verified} verified"
    )
    text = (
        f"Catalog sync for {store}: {rows} rows, {total_findings} findings, {pushed} pushed, "
        f"{failed} failed, {verified} verified, completion {rate}"
        + (f", {in_review} in review" if in_review else "")
    )
    blocks: list[dict[str, Any]] = [
        _mrkdwn(f"{emoji} {headline}"),
        _fields(
            [
                ("Rows", rows),
                ("Findings", total_findings),
                ("Pushed", pushed),
                ("Failed", failed),
                ("Verified", verified),
                ("Completion rate (marketplace)", rate),
                ("Verified share (aeops)", share),
            ] + ([("In marketplace review", in_review)] if in_review else [])
        ),
    ]
    if findings_by_code:
        by_code = ", ".join(f"`{_escape(c)}` {n}" for c, n in sorted(findings_by_code.items(), key=lambda x: -x[1]))
        blocks.append(_mrkdwn(f"*Findings by code*\n{by_code}"))
    if top_findings:
        lines = [f"• {finding_line(f)}" for f in list(top_findings)[:max_top]]
        more = len(top_findings) - max_top
        if more > 0:
            lines.append(f"_…and {more} more in the thread and the report_")
        blocks.append(_mrkdwn("*Top findings — what to do*\n" + "\n".join(lines)))
    links = [f"<{report_url}|HTML report>"] if report_url else []
    links.append(f"<{task_log_url(dag_id, run_id)}|Run in Airflow>")
    blocks.append(_context(f"{' · '.join(links)} · run `{_escape(run_id)}`"))
    return SlackMessage(
        text=text,
        blocks=scrub(blocks),
        kind="summary",
        severity="info",
        store=store,
        dedupe_key=None,
        thread_key=run_id,
    )


def summary_details(
    findings: Sequence[Any], *, store: str, run_id: str, per_message: int = 20
) -> list[SlackMessage]:
    """The run's findings as thread replies (``per_message`` lines each) under its summary."""
    messages = []
    for start in range(0, len(findings), per_message):
        chunk = findings[start : start + per_message]
        lines = "\n".join(f"• {finding_line(f)}" for f in chunk)
        header = f"Findings {start + 1}-{start + len(chunk)} of {len(findings)}"
        messages.append(
            SlackMessage(
                text=f"{header} for {store}",
                blocks=scrub([_mrkdwn(f"*{header}*\n{lines}")]),
                kind="detail",
                severity="info",
                store=store,
                thread_key=run_id,
            )
        )
    return messages


def notice(
    *,
    title: str,
    text: str,
    store: str | None = None,
    severity: str = "info",
    fields: Mapping[str, object] | None = None,
    link: str | None = None,
    link_text: str = "Details",
    dedupe_key: str | None = None,
    thread_key: str | None = None,
    kind: str = "notice",
) -> SlackMessage:
    """A generic message for the certificate, logo and urgent re-run DAGs.

    ``severity`` error/warning go to the alerts channel, info to the reports channel.
    """
    if severity not in SEVERITY_EMOJI:
        raise ValueError(f"severity must be one of {', '.join(SEVERITY_EMOJI)}, not {severity!r}")
    where = f" ({_escape(store)})" if store else ""
    blocks: list[dict[str, Any]] = [_mrkdwn(f"{SEVERITY_EMOJI[severity]} *{_escape(title)}*{where}\n{text}")]
    if fields:
        blocks.append(_fields(fields.items()))
    if link:
        blocks.append(_context(f"<{link}|{_escape(link_text)}>"))
    return SlackMessage(
        text=scrub_text(f"{title}{where}: {text}"),
        blocks=scrub(blocks),
        kind=kind,
        severity=severity,
        store=store,
        dedupe_key=dedupe_key,
        thread_key=thread_key,
    )


def review_refused(*, store: str, product_id: int, reason: str | None, run_id: str | None = None) -> SlackMessage:
    """A new main image the platform's review refused: the product is ``editingRequired`` (off sale)."""
    why = one_line(reason or "the platform gave no reason", 300)
    return notice(
        title=f"Main image refused by the marketplace review: product {product_id}",
        text=(f"Product {product_id} is `editingRequired` after its new main image was reviewed: {_escape(why)}. "
              "It stays off sale until a corrected image is pushed (fix the image in the export; the next sync "
              "pushes it) or the product is fixed in the seller center."),
        store=store, severity="error", fields={"Product": product_id, "Reason": why},
        dedupe_key=f"review-refused:{store}:{product_id}:{run_id or ''}", thread_key=None)


def review_overdue(*, store: str, product_ids: Sequence[int], hours: float, run_id: str | None = None
                   ) -> SlackMessage:
    """Products still in the platform's review ``hours`` after their new main image was sent."""
    shown = ", ".join(str(p) for p in list(product_ids)[:20]) + (" ..." if len(product_ids) > 20 else "")
    return notice(
        title=f"Marketplace review overdue: {len(product_ids)} product(s) still auditing",
        text=(f"{len(product_ids)} product(s) are still `auditing` {hours:g} h after their new main image was sent "
              f"(the review should take at most 2 hours): {shown}. Check them in the seller center; aeops stops "
              "following them for this run and counts them as in review."),
        store=store, severity="warning", fields={"Products": len(product_ids)},
        dedupe_key=f"review-overdue:{store}:{run_id or ''}:{shown}", thread_key=None)
