"""The steps of DAG ``aliexpress_store_settings``: check the storefront, ask a person, check again.

``check`` reads the store page on every device, compares it with the store settings in ``aeops_config``
(:mod:`aeops.storefront.page_compare`), records Information Accuracy (``settings_checks``) and posts it
with its trend, opens or refreshes the person tasks (a settings difference; a logo rotation that is due, naming
what keeps the approved logo from counting: the logo rules of :func:`.logo_rotation.approved_logo_problems`) and
closes a settings task the storefront now satisfies. ``ask_form`` builds the human-in-the-loop form for a
store's open tasks (every open task of the store: also those the daily sync opened). ``recheck`` takes the
person's answer: on "Done" it reads the storefront again, closes what it now shows (or, for tasks no page
shows, what the person confirmed) and reopens the rest naming what still differs (a rotation also while the new
logo breaks a logo rule); after the last round a task still differing fails the run (it stays open and is asked
again by the next run).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aeops.catalog.dates import local_date, local_midnight_utc, quarter_of
from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.findings import Finding
from aeops.i18n import LANGUAGES, N_, translator
from aeops.locations import LocationError
from aeops.marketplace.hooks import AliExpressHook
from aeops.marketplace.store_page import (
    DEVICES,
    StorePageView,
    fetch_image,
    is_real_storefront,
    page_url,
    read_store_page,
)
from aeops.notify.finding_texts import finding_message
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.repos.person_tasks import VERIFIED_KINDS, TaskView
from aeops.storefront.logo_rotation import approved_logo_problems, cleared_texts, scan_logo_folder
from aeops.storefront.page_compare import (
    DEVICE_LABELS,
    SELLER_CENTER_URL,
    Comparison,
    RotationStatus,
    compare,
    load_approved,
    rotation_verified,
)

log = get_logger(__name__)

DONE, NOT_YET = N_("Done"), N_("Not done yet")  # the answers of the form, shown in the store's language
TREND_RUNS = 7


class StoreSettingsError(RuntimeError):
    """The store could not be checked, or a task still differs after the last round (one line says why)."""


# ------------------------------------------------------------------------------------------- the storefront
class Storefront:
    """Reads one store's page on every device (an httpx client; close it)."""

    def __init__(self, store: StoreConfig, base_url: str | None = None, store_num: int | None = None,
                 real: bool | None = None) -> None:
        import httpx  # lazy: httpx only when a URL is fetched

        extra: dict[str, Any] = {}
        if base_url is None:
            hook = AliExpressHook(store.conn_id)
            base_url = hook.client_kwargs()["base_url"]
            extra = hook.get_connection(store.conn_id).extra_dejson or {}
        self.base_url = base_url
        num = store_num or store.store_num or extra.get("store_num")
        if not num:
            raise StoreSettingsError(f"{store.name}: no store number: set store_num in aeops_config (the number "
                                     "in the storefront URL /store/<number>)")
        self.store_num = int(num)
        self.real = is_real_storefront(base_url, extra) if real is None else real
        self.http = httpx.Client(timeout=20, follow_redirects=True)

    def pages(self) -> dict[str, StorePageView]:
        """The store page as each device shows it."""
        return {d: read_store_page(self.http, self.base_url, self.store_num, d, real=self.real) for d in DEVICES}

    def image(self, url: str) -> bytes:
        """The bytes of an image on the store page."""
        return fetch_image(self.http, url)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


def _compare(store: StoreConfig, storefront: Storefront) -> tuple[Comparison, dict[str, Any]]:
    approved = load_approved(store)
    return compare(store, storefront.pages(), storefront.image, approved), approved


def _record_check(ledger: Ledger, store: str, run_id: str, result: Comparison) -> list[float]:
    """Store the check; returns the accuracy trend (oldest first, this check last) over the last runs."""
    ledger.storefront.record_check(store, run_id, tracked=result.tracked, matched=result.matched,
                                   accuracy=result.accuracy, detail=result.to_dict())
    rows = ledger.storefront.recent_checks(store, 50)
    per_run: dict[str | None, float] = {}
    for row in rows:  # newest first: the last check of each run
        if row.run_id not in per_run and row.accuracy is not None:
            per_run[row.run_id] = row.accuracy
        if len(per_run) >= TREND_RUNS:
            break
    return list(reversed(list(per_run.values())))


# ------------------------------------------------------------------------------------------- logo rotation
def rotation_status(ledger: Ledger, store: StoreConfig, as_of: date) -> RotationStatus:
    """Whether the logo is due this quarter, from the logo changes on record."""
    quarter = quarter_of(as_of)
    rows = ledger.storefront.logo_changes(store.name)
    last = rows[0] if rows else None
    last_day = local_date(last.changed_at, store.timezone) if last else None
    before = next((r for r in rows if local_date(r.changed_at, store.timezone) < quarter.start), None)
    return RotationStatus(due=last_day is None or last_day < quarter.start, quarter=quarter.label,
                          last_change=last_day, previous_sha256=before.sha256 if before else None)


def _rotation_candidates(ledger: Ledger, store: StoreConfig) -> list[str]:
    """Files waiting in the store's ``logo`` folder that pass the logo rules (choices for the new logo)."""
    if not store.logo:
        return []

    try:
        return [c.file for c in scan_logo_folder(store.logo, cleared_texts(ledger, store.name)) if c.passed]
    except LocationError:
        return []


def _logo_rule_lines(problems: list[Finding], lang: str | None) -> list[str]:
    """What keeps the approved logo from counting for the quarter, one line each, in ``lang``."""
    _ = translator(lang)
    return [_("the approved logo does not count for the quarter: {problem}").format(
        problem=f"{f.code} {finding_message(f, lang)}") for f in problems]


# ------------------------------------------------------------------------------------------- task texts
def _uri(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


def _autolink(url: str) -> str:
    """``<url>``: a Markdown link that ends where the URL ends (a full-width "）" after it stays text)."""
    return f"<{url}>"


def settings_task(store: StoreConfig, result: Comparison, storefront: Storefront) -> tuple[str, dict[str, Any]]:
    """Title and detail (steps, files, links, differences) of a store-settings task, in the store's language."""
    _ = translator(store.language)
    failing = {f.field for f in result.checked if not f.matches}
    steps = [_("Sign in to the seller center ({url}) with the store's main account.").format(
        url=_autolink(SELLER_CENTER_URL))]
    files: list[str] = []
    if "name" in failing:
        steps.append(_("Store → Store settings → Store name: enter exactly {name}; save.").format(
            name=repr(store.store_name)))
    if "logo" in failing:
        steps.append(_("Store → Store settings → Store logo: upload the approved logo file below (PNG, at least "
                       "800x800, no text over it); save."))
        files.append(_uri(store.store_logo))
    if "banners" in failing:
        steps.append(_("Store → Store decoration → banner: upload the {n} approved banner file(s) below in this "
                       "order; publish.").format(n=len(store.store_banners)))
        files.extend(_uri(b) for b in store.store_banners)
    if "response_time" in failing:
        steps.append(_("Customer service settings: set the response-time commitment to {hours} hours or less; "
                       "save.").format(hours=f"{store.response_time_hours:g}"))
    steps.append(_("Wait until the store page shows it (usually minutes), then mark this task Done in Airflow: "
                   "aeops reads the storefront again on every device."))
    title = _("Update the store settings of {store} in the seller center: {fields}").format(
        # TRANSLATORS: the separator of a list of field names
        store=store.name, fields=_(", ").join(result.failing_fields(store.language)))
    return title, {"steps": steps, "files": files, "differences": result.differences_in(store.language),
                   "links": _links(storefront, _), "accuracy": result.accuracy}


def _links(storefront: Storefront, _: Callable[[str], str]) -> dict[str, str]:
    links = {_("seller center"): SELLER_CENTER_URL}
    for device in DEVICES:
        links[_("store page ({device})").format(device=_(DEVICE_LABELS[device]))] = page_url(
            storefront.base_url, storefront.store_num, device, real=storefront.real)
    return links


def rotation_task(store: StoreConfig, status: RotationStatus, storefront: Storefront, ledger: Ledger,
                  logo_problems: list[Finding]) -> tuple[str, dict[str, Any]]:
    """Title and detail of the quarter's logo rotation task, in the store's language; ``logo_problems``: what keeps
    the approved logo from counting (the logo rules)."""
    _ = translator(store.language)
    candidates = _rotation_candidates(ledger, store)
    prepare = _("Prepare the new logo for {quarter}: PNG, at least 800x800 px, no text covering it.")
    if candidates:
        prepare = _("Prepare the new logo for {quarter}: PNG, at least 800x800 px, no text covering it (files "
                    "waiting in the logo folder that pass the check are listed below).")
    steps = [
        prepare.format(quarter=status.quarter),
        _("Set it as store_logo of this store in aeops_config (settings as code)."),
        _("Seller center ({url}) → Store → Store settings → Store logo: upload the same file; save.").format(
            url=_autolink(SELLER_CENTER_URL)),
        _("When the store page shows it, mark this task Done in Airflow: aeops checks every device."),
    ]
    since = (_("last change {date}").format(date=status.last_change) if status.last_change
             else _("no logo change on record"))
    title = _("Rotate the store logo of {store} for {quarter} ({since})").format(
        store=store.name, quarter=status.quarter, since=since)
    due = _("logo rotation due for {quarter} ({since})").format(quarter=status.quarter, since=since)
    return title, {"steps": steps, "files": [_uri(c) for c in candidates], "links": _links(storefront, _),
                   "differences": [due, *_logo_rule_lines(logo_problems, store.language)],
                   "quarter": status.quarter}


def _task_markdown(task: TaskView, _: Callable[[str], str]) -> str:
    """One task as Markdown blocks (a blank line between them: a list must end before the next heading)."""
    d = task.detail
    blocks = [f"### {task.title}"]
    if d.get("differences"):
        heading = _("**Still differs:**") if task.rounds else _("**Differs:**")
        blocks.append("\n".join([heading, "", *(f"- {x}" for x in d["differences"])]))
    if d.get("steps"):
        blocks.append("\n".join([_("**Steps:**"), "", *(f"{n}. {x}" for n, x in enumerate(d["steps"], 1))]))
    if d.get("files"):
        blocks.append(_("**Files:**") + " " + ", ".join(f"[{f.rsplit('/', 1)[-1]}]({f})" for f in d["files"]))
    if d.get("links"):
        blocks.append(_("**Links:**") + " " + " · ".join(f"[{k}]({v})" for k, v in d["links"].items()))
    return "\n\n".join(blocks)


# ------------------------------------------------------------------------------------------- the steps
def check(store: str, run_id: str, as_of: date, *, config: AeopsConfig | None = None,
          storefront: Storefront | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Read the storefront, record accuracy, open/refresh/close tasks, post the figure. Returns a summary."""
    cfg = config or load_airflow_config()
    st = cfg.store(store)
    ledger = Ledger(cfg.resolved_database_url())
    front = storefront or Storefront(st)
    try:
        result, _approved = _compare(st, front) if st.tracks_settings else (Comparison(store, []), {})
        trend = _record_check(ledger, store, run_id, result) if st.tracks_settings else []
        open_now = {t.key: t for t in ledger.person_tasks.open_tasks(store)}
        if result.differences:
            title, detail = settings_task(st, result, front)
            ledger.person_tasks.open(store, "store_settings", "store_settings", title, detail, run_id)
        elif "store_settings" in open_now:
            ledger.person_tasks.close(open_now["store_settings"].id, run_id, None, "storefront")
        logo_problems = approved_logo_problems(ledger, st, run_id)  # text over it: a review task for a person
        rotation = rotation_status(ledger, st, as_of)
        if rotation.due and st.store_logo:
            title, detail = rotation_task(st, rotation, front, ledger, logo_problems)
            ledger.person_tasks.open(store, "logo_rotation", f"logo_rotation:{rotation.quarter}", title, detail,
                                     run_id)
    finally:
        if storefront is None:
            front.close()
    open_after = ledger.person_tasks.open_tasks(store)
    summary = {"store": store, "as_of": as_of.isoformat(), "accuracy": result.accuracy, "tracked": result.tracked,
               "matched": result.matched, "trend": trend, "differences": result.differences,
               "not_checkable": result.not_checkable,
               "rotation_due": rotation.due, "open_tasks": [t.id for t in open_after]}
    _post_accuracy(cfg, store, summary, open_after, now, result.differences_in(st.language),
                   result.not_checkable_in(st.language))
    log.info("%s: Information Accuracy %s (%d of %d fields; cannot be checked here: %s); %d open person task(s)",
             store, _pct(result.accuracy), result.matched, result.tracked, ", ".join(result.not_checkable) or "none",
             len(open_after))
    return summary


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _post_accuracy(cfg: AeopsConfig, store: str, summary: dict[str, Any], open_after: list[TaskView],
                   now: datetime | None, differences: list[str], not_checkable: list[str] | None = None) -> None:
    if not summary["tracked"] and not open_after and not summary.get("not_checkable"):
        return
    _ = translator(cfg.store(store).language)
    trend = summary["trend"]
    arrow = ""
    if len(trend) >= 2:
        arrow = " ↑" if trend[-1] > trend[-2] else " ↓" if trend[-1] < trend[-2] else " ="
    lines = [_("Information Accuracy: *{accuracy}*{arrow} ({matched} of {tracked} tracked fields match on every "
               "device).").format(accuracy=_pct(summary["accuracy"]), arrow=arrow, matched=summary["matched"],
                                  tracked=summary["tracked"])]
    if trend:
        lines.append(_("Trend (last runs): {trend}").format(trend=" → ".join(_pct(v) for v in trend)))
    lines.extend(f"• {d}" for d in differences)
    if not_checkable:
        lines.append(_("Cannot be checked here (the store page does not show it): {fields}").format(
            fields=", ".join(not_checkable)))
    if open_after:
        lines.append(_("{n} seller-center task(s) wait for a person in Airflow (Required actions): {titles}").format(
            n=len(open_after), titles="; ".join(t.title for t in open_after)))
    severity = "info" if summary["accuracy"] in (None, 1.0) and not open_after else "warning"
    message = notice(title=_("Store settings check"), text="\n".join(lines), store=store, severity=severity,
                     fields={_("As of"): summary["as_of"]},
                     dedupe_key=f"settings:{store}:{summary['as_of']}:{summary['matched']}:{len(open_after)}")
    send(message, store=store, config=cfg, db_url=cfg.resolved_database_url(), now=now)


def ask_form(store: str, run_id: str, round_no: int, link: str, *, config: AeopsConfig | None = None
             ) -> dict[str, Any] | None:
    """The form for the store's open tasks (None: nothing to ask). Marks them asked."""
    cfg = config or load_airflow_config()
    ledger = Ledger(cfg.resolved_database_url())
    open_now = ledger.person_tasks.open_tasks(store)
    if not open_now:
        return None
    _ = translator(cfg.store(store).language)
    reopened = round_no > 1
    done, not_yet = answer_options(cfg.store(store).language)
    if reopened:
        subject = _("{store}: still not right on the storefront (round {round})").format(store=store, round=round_no)
        intro = _("You said done, but the storefront still differs. Fix what is listed, wait for the page, then "
                  "answer again.")
    else:
        subject = _("{store}: {n} seller-center task(s) for a person").format(store=store, n=len(open_now))
        intro = _("aeops cannot do these through the Open Platform API. Do them in the seller center, then answer "
                  "**{done}**: aeops reads the storefront again and closes what it shows. **{not_yet}** (or no "
                  "answer) keeps them open for the next run.").format(done=done, not_yet=not_yet)
    body = "\n\n".join([intro, *(_task_markdown(t, _) for t in open_now)])
    ledger.person_tasks.mark_asked([t.id for t in open_now], run_id, round_no, link)
    return {"subject": subject, "body": body, "task_ids": [t.id for t in open_now], "options": [done, not_yet],
            "note": {"title": _("Note (optional)"),
                     "description": _("What you did, or why it is not done yet; kept in the task's history. Leave "
                                      "it empty if there is nothing to add.")}}


def answer_options(lang: str | None) -> tuple[str, str]:
    """The form's two answers in ``lang``: done, not done yet."""
    _ = translator(lang)
    return _(DONE), _(NOT_YET)


def every_answer() -> list[str]:
    """The answers in every language (what a form of any store may send back)."""
    return sorted({label for lang in LANGUAGES for label in answer_options(lang)})


def is_done(choice: str | None) -> bool:
    """True when ``choice`` is "Done" in any language."""
    return any(choice == answer_options(lang)[0] for lang in LANGUAGES)


def _actor(answer: dict[str, Any] | None) -> str | None:
    user = (answer or {}).get("responded_by_user") or None
    return (user.get("name") or user.get("id")) if isinstance(user, dict) else None


def recheck(store: str, run_id: str, round_no: int, answer: dict[str, Any] | None, as_of: date, *,
            final: bool, config: AeopsConfig | None = None, storefront: Storefront | None = None
            ) -> dict[str, Any]:
    """Act on the person's answer to round ``round_no``; StoreSettingsError after the last round if still open."""
    cfg = config or load_airflow_config()
    st = cfg.store(store)
    ledger = Ledger(cfg.resolved_database_url())
    # tasks only a person confirms first: a closed logo text review lets the rotation count in this same round
    asked = sorted(ledger.person_tasks.open_tasks(store), key=lambda t: (t.kind in VERIFIED_KINDS, t.id))
    choice = ((answer or {}).get("chosen_options") or [NOT_YET])[0]
    actor = _actor(answer)
    note = ((answer or {}).get("params_input") or {}).get("note")
    ledger.person_tasks.record_answer([t.id for t in asked], run_id, round_no, DONE if is_done(choice) else NOT_YET,
                                      actor, note)
    if not is_done(choice):
        log.info("%s: %s (%s): %d task(s) stay open", store, choice, actor or "timed out", len(asked))
        return {"store": store, "answer": choice, "reopened": 0, "closed": 0}
    front = storefront or Storefront(st)
    try:
        result, approved = _compare(st, front) if st.tracks_settings else (Comparison(store, []), {})
        if st.tracks_settings:
            _record_check(ledger, store, run_id, result)
        reopened, closed = [], []
        for task in asked:
            if task.kind == "store_settings":
                still = result.differences_in(st.language)
            elif task.kind == "logo_rotation":
                logo = approved.get("logo") if not isinstance(approved.get("logo"), str) else None
                logo_field = next((f for f in result.fields if f.field == "logo"), None)
                still = rotation_verified(rotation_status(ledger, st, as_of), logo, logo_field, st.language)
                still += _logo_rule_lines(approved_logo_problems(ledger, st, run_id), st.language)
                if not still:
                    _record_rotation(ledger, store, logo, as_of, st.timezone)
            else:
                still = []  # no page shows it: the person's word closes it
            if still:
                ledger.person_tasks.reopen(task.id, run_id, still, actor)
                reopened.append({"task": task.id, "title": task.title, "differences": still})
            else:
                ledger.person_tasks.close(task.id, run_id, actor,
                                          "storefront" if task.kind in VERIFIED_KINDS else "person")
                closed.append(task.id)
    finally:
        if storefront is None:
            front.close()
    log.info("%s: round %d: %d task(s) closed, %d reopened", store, round_no, len(closed), len(reopened))
    if reopened and final:
        why = "; ".join(f"{r['title']}: {', '.join(r['differences'])}" for r in reopened)
        for r in reopened:
            ledger.person_tasks.note_failure(r["task"], run_id, f"still differs after {round_no} rounds")
        raise StoreSettingsError(f"{store}: still differs after {round_no} rounds (the task stays open for the "
                                 f"next run): {why}")
    return {"store": store, "answer": choice, "reopened": len(reopened), "closed": len(closed),
            "still": reopened}


def _record_rotation(ledger: Ledger, store: str, logo: Any, as_of: date, timezone: str) -> None:
    """The storefront shows the new logo: this quarter's rotation (read by both logo DAGs)."""

    when = max(datetime.now(UTC), local_midnight_utc(as_of, timezone))  # as_of may travel in time
    ledger.storefront.record_logo_change(store, when, logo.sha256, logo.location, "storefront")
