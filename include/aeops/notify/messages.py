"""Block Kit messages aeops posts: failure alerts, run summaries (with thread details) and notices.

Every builder returns a :class:`SlackMessage`; nothing here talks to Slack or the database. The
outbox (:mod:`aeops.notify.outbox`) picks the channel from ``severity``, folds duplicates by
``dedupe_key`` and threads by ``thread_key``.

Messages carry only what an operator needs: store, DAG, task, run, one line of error, counts, links,
and for findings the SKU, field and message (never whole export rows, never credentials).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aeops.i18n import ngettext, percent, translator
from aeops.notify.finding_texts import finding_problem, finding_todo
from aeops.notify.links import DEFAULT_API_BASE_URL, api_base_url, is_browser_link, task_log_url
from aeops.secrets import scrub, scrub_text

__all__ = ["DEFAULT_API_BASE_URL", "SlackMessage", "api_base_url", "failure_alert", "finding_line", "notice",
           "one_line", "summary_details", "sync_summary", "task_log_url"]

ERROR_LINE_MAX = 300
SECTION_MAX = 2900  # Block Kit section text limit is 3000 characters

SEVERITY_EMOJI = {"error": ":red_circle:", "warning": ":warning:", "info": ":white_check_mark:"}


@dataclass(slots=True)
class SlackMessage:
    """A message ready for the outbox.

    ``severity`` (error | warning | info) picks the channel unless ``channel`` is set (a ``summary``
    always goes to the reports channel); ``dedupe_key`` folds identical messages inside the fold window
    (``fold="count"``: the first message shows "(xN)") or, with ``fold="replace"``, makes the message a
    *page*: every later message of the key replaces it (edited in place, whenever it comes);
    ``thread_key`` groups a run's summary (the thread parent) and its details (replies).
    """

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "notice"  # alert | summary | detail | notice
    severity: str = "info"
    store: str | None = None
    dedupe_key: str | None = None
    thread_key: str | None = None
    channel: str | None = None
    fold: str = "count"  # count | replace (see above)

    def payload(self) -> dict[str, Any]:
        """The ``chat.postMessage`` arguments other than channel/thread (stored in the outbox)."""
        return {"text": self.text, "blocks": self.blocks}

    def to_dict(self) -> dict[str, Any]:
        """The message as a plain dict (for the outbox)."""
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


def slack_escape(text: object) -> str:
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
    context: Mapping[str, Any], *, store: str | None = None, base_url: str | None = None, lang: str | None = "en"
) -> SlackMessage:
    """The alert for a failed task (task-level context) or DAG run (DAG-level context), in ``lang``.

    Shows store, DAG, task, run, the error in one line and a link to the task's log in the Airflow UI.
    Identical failures (same store, DAG, task and error line) share a ``dedupe_key`` so they fold.
    """
    _ = translator(lang)
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
    if task_id:
        task_field = task_id
    elif last_task:
        task_field = _("(whole run; last task {task})").format(task=last_task)
    else:
        task_field = _("(whole run)")
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
    if task_id and store:
        what = _("Task `{task}` failed for store *{store}*").format(task=task_id, store=slack_escape(store))
    elif task_id:
        what = _("Task `{task}` failed").format(task=task_id)
    elif store:
        what = _("DAG run of `{dag}` failed for store *{store}*").format(dag=dag_id, store=slack_escape(store))
    else:
        what = _("DAG run of `{dag}` failed").format(dag=dag_id)
    text = f"{what}: {error_line}"
    link = _("Open the task log in Airflow") if task_id else _("Open the run in Airflow")
    error_title = _("Error")
    blocks = [
        _mrkdwn(f"{SEVERITY_EMOJI['error']} *{what.replace('*', '')}*"),
        _fields([(_("Store"), store or "-"), ("DAG", dag_id), (_("Task"), task_field), (_("Run"), run_id)]),
        _mrkdwn(f"*{error_title}*\n```{slack_escape(error_line)}```"),
        _context(f"<{url}|{link}>"),
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


def _get(finding: Any, key: str) -> Any:
    return finding.get(key) if isinstance(finding, Mapping) else getattr(finding, key, None)


def finding_line(finding: Any, lang: str | None = "en") -> str:
    """``*CODE* SKU `x` · field: what is wrong → what to do``, in ``lang`` (SKU, field and the finding's words only).

    ``finding`` is an :class:`aeops.findings.Finding`, a stored finding row or a dict of one; the code is the
    contract and stays as it is."""
    parts = [f"*{slack_escape(_get(finding, 'code'))}*"]
    if _get(finding, "sku_code"):
        parts.append(f"SKU `{slack_escape(_get(finding, 'sku_code'))}`")
    if _get(finding, "field"):
        parts.append(f"{slack_escape(_get(finding, 'field'))}:")
    parts.append(slack_escape(one_line(finding_problem(finding, lang), 200)))
    todo = finding_todo(finding, lang)
    line = " ".join(parts)
    return f"{line} → {slack_escape(todo)}" if todo else line


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
    lang: str | None = "en",
    headline: str | None = None,
    status: str | None = None,
    stopped_by: Sequence[str] = (),
    verified_share: float | None = None,
    in_review: int = 0,
    details_in_thread: bool = False,
) -> SlackMessage:
    """One message per run: counts, findings by code, pushed/failed/verified, completion rate, report link; for a
    run that failed, ``status="failed"`` and ``stopped_by`` (one line per failing task: what stopped it).

    ``completion_rate`` is the marketplace's own "information update completion rate" (None: not available);
    ``verified_share`` is aeops's own figure (updates seen on the storefront / updates checked), shown under
    its own name beside it; ``in_review`` counts updates still in the marketplace's review.

    ``top_findings`` are :class:`aeops.findings.Finding` objects or their ``to_dict()``; the first
    ``max_top`` are listed with what to do. ``report_url`` must be an http(s) URL (a browser opens it from
    Slack; a file path is dropped). ``headline`` is the report's five-second sentence when the caller has it.
    The message is the parent of the run's thread (``thread_key`` = ``run_id``): one message per store run, the
    full list lives in the report and its CSV. ``details_in_thread``: the caller also posts every finding as
    replies (:func:`summary_details`, the store's ``slack_finding_details``), and the "more" line says so.
    """
    _ = translator(lang)
    titles = {"by_code": _("Findings by code"), "top": _("Top findings: what to do"), "report": _("Open the report"),
              "airflow": _("Run in Airflow"), "run": _("run")}
    total_findings = sum(findings_by_code.values())
    rate = percent(completion_rate, lang)
    share = percent(verified_share, lang)
    failed_run = status == "failed"
    healthy = (failed == 0 and not in_review and (completion_rate is None or completion_rate >= 1.0)
               and not failed_run and status != "rejected")  # rejected: held by the export guard, nothing written
    emoji = SEVERITY_EMOJI["error" if failed_run else "info" if healthy else "warning"]
    counts = _("{rows} rows, {pushed} pushed, {failed} failed, {verified} verified").format(
        rows=rows, pushed=pushed, failed=failed, verified=verified)
    title = (_("Catalog sync for *{store}* FAILED") if failed_run else _("Catalog sync for *{store}*")).format(
        store=slack_escape(store))
    text = _("Catalog sync for {store}: {counts}, {findings} findings, completion {rate}").format(
        store=store, counts=counts, findings=total_findings, rate=rate)
    if in_review:
        text += ", " + _("{n} in review").format(n=in_review)
    if failed_run:
        text = _("FAILED: {summary}").format(summary=text)
    if stopped_by:
        text += "; " + _("stopped by {reason}").format(reason=one_line(stopped_by[0]))
    blocks: list[dict[str, Any]] = [_mrkdwn(f"{emoji} {title}: {counts}")]
    if headline:
        blocks.append(_mrkdwn(slack_escape(headline)))
    blocks.append(
        _fields(
            [
                (_("Rows"), rows),
                (_("Findings"), total_findings),
                (_("Pushed"), pushed),
                (_("Failed"), failed),
                (_("Verified"), verified),
                (_("Completion rate (marketplace)"), rate),
                (_("Verified share (aeops)"), share),
            ] + ([(_("In marketplace review"), in_review)] if in_review else [])
        )
    )
    if stopped_by:
        stopped_title = _("What stopped it")
        blocks.append(_mrkdwn(f"*{stopped_title}*\n" + "\n".join(f"• `{slack_escape(one_line(line))}`"
                                                                  for line in stopped_by[:10])))
    if findings_by_code:
        by_code = ", ".join(f"`{slack_escape(c)}` {n}"
                            for c, n in sorted(findings_by_code.items(), key=lambda x: -x[1]))
        blocks.append(_mrkdwn(f"*{titles['by_code']}*\n{by_code}"))
    if top_findings:
        lines = [f"• {finding_line(f, lang)}" for f in list(top_findings)[:max_top]]
        more = len(top_findings) - max_top
        if more > 0:
            rest = (_("…and {n} more in the thread and the report") if details_in_thread
                    else _("…and {n} more in the report and its CSV"))
            lines.append("_" + rest.format(n=more) + "_")
        blocks.append(_mrkdwn(f"*{titles['top']}*\n" + "\n".join(lines)))
    links = [f"<{report_url}|{titles['report']}>"] if is_browser_link(report_url) else []
    links.append(f"<{task_log_url(dag_id, run_id)}|{titles['airflow']}>")
    blocks.append(_context(f"{' · '.join(links)} · {titles['run']} `{slack_escape(run_id)}`"))
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
    findings: Sequence[Any], *, store: str, run_id: str, per_message: int = 20, lang: str | None = "en"
) -> list[SlackMessage]:
    """The run's findings as thread replies (``per_message`` lines each) under its summary."""
    _ = translator(lang)
    messages = []
    for start in range(0, len(findings), per_message):
        chunk = findings[start : start + per_message]
        lines = "\n".join(f"• {finding_line(f, lang)}" for f in chunk)
        header = _("Findings {first}-{last} of {total}").format(first=start + 1, last=start + len(chunk),
                                                                 total=len(findings))
        messages.append(
            SlackMessage(
                text=_("{header} for {store}").format(header=header, store=store),
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

    ``title``, ``text``, the field names and ``link_text`` come already translated from the caller (which knows
    the store's language). ``severity`` error/warning go to the alerts channel, info to the reports channel.
    A ``link`` that is not an http(s) URL is left out: Slack readers cannot open a file path.
    """
    if severity not in SEVERITY_EMOJI:
        raise ValueError(f"severity must be one of {', '.join(SEVERITY_EMOJI)}, not {severity!r}")
    where = f" ({slack_escape(store)})" if store else ""
    blocks: list[dict[str, Any]] = [_mrkdwn(f"{SEVERITY_EMOJI[severity]} *{slack_escape(title)}*{where}\n{text}")]
    if fields:
        blocks.append(_fields(fields.items()))
    if is_browser_link(link):
        blocks.append(_context(f"<{link}|{slack_escape(link_text)}>"))
    return SlackMessage(
        text=scrub_text(f"{title}{where}: {text}"),
        blocks=scrub(blocks),
        kind=kind,
        severity=severity,
        store=store,
        dedupe_key=dedupe_key,
        thread_key=thread_key,
    )


def review_refused(*, store: str, product_id: int, reason: str | None, run_id: str | None = None,
                   lang: str | None = "en") -> SlackMessage:
    """A new main image the platform's review refused: the product is ``editingRequired`` (off sale)."""
    _ = translator(lang)
    why = one_line(reason or _("the platform gave no reason"), 300)
    return notice(
        title=_("Main image refused by the marketplace review: product {product}").format(product=product_id),
        text=_("Product {product} is `editingRequired` after its new main image was reviewed: {why}. It stays off "
               "sale until a corrected image is pushed (fix the image in the export; the next sync pushes it) or "
               "the product is fixed in the seller center.").format(product=product_id, why=slack_escape(why)),
        store=store, severity="error", fields={_("Product"): product_id, _("Reason"): why},
        dedupe_key=f"review-refused:{store}:{product_id}:{run_id or ''}", thread_key=None)


def review_overdue(*, store: str, product_ids: Sequence[int], hours: float, run_id: str | None = None,
                   lang: str | None = "en") -> SlackMessage:
    """Products still in the platform's review ``hours`` after their new main image was sent."""
    n_ = ngettext(lang)
    _ = translator(lang)
    n = len(product_ids)
    shown = ", ".join(str(p) for p in list(product_ids)[:20]) + (" ..." if n > 20 else "")
    return notice(
        title=n_("Marketplace review overdue: {n} product still auditing",
                 "Marketplace review overdue: {n} products still auditing", n).format(n=n),
        text=n_("{n} product is still `auditing` {hours} h after its new main image was sent (the review should "
                "take at most 2 hours): {shown}. Check it in the seller center; aeops stops following it for this "
                "run and counts it as in review.",
                "{n} products are still `auditing` {hours} h after their new main image was sent (the review "
                "should take at most 2 hours): {shown}. Check them in the seller center; aeops stops following "
                "them for this run and counts them as in review.", n).format(n=n, hours=f"{hours:g}", shown=shown),
        store=store, severity="warning", fields={_("Products"): n},
        dedupe_key=f"review-overdue:{store}:{run_id or ''}:{shown}", thread_key=None)


def review_not_triggered(*, store: str, products: dict[int, str], minutes: float, run_id: str | None = None,
                         lang: str | None = "en") -> SlackMessage:
    """Products whose new main image started no review (``auditing`` never seen) within ``minutes`` of the edit,
    with the status each showed (``onSelling``: on sale with an unreviewed image)."""
    n_ = ngettext(lang)
    _ = translator(lang)
    n = len(products)
    shown = ", ".join(f"{pid} ({status or '?'})" for pid, status in list(products.items())[:20]) + (
        " ..." if n > 20 else "")
    return notice(
        title=n_("Marketplace review not triggered: {n} product", "Marketplace review not triggered: {n} products",
                 n).format(n=n),
        text=n_("No review was seen starting (`auditing`) within {minutes} minutes of {n} product's new main image "
                "(the guide: the review must be triggered within 2 hours): {shown}. A product back on sale shows "
                "an image the platform has not reviewed: check it in the seller center, or send the image again.",
                "No review was seen starting (`auditing`) within {minutes} minutes of {n} products' new main "
                "images (the guide: the review must be triggered within 2 hours): {shown}. A product back on sale "
                "shows an image the platform has not reviewed: check them in the seller center, or send the "
                "images again.", n).format(n=n, minutes=f"{minutes:g}", shown=shown),
        store=store, severity="warning", fields={_("Products"): n},
        dedupe_key=f"review-not-triggered:{store}:{run_id or ''}:{shown}", thread_key=None)
