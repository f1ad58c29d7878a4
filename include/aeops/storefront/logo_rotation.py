"""Quarterly logo rotation: know when the store logo last changed, check new logo files, remind when stale.

Where "last changed" comes from: the marketplace's store settings where an API offers them, else the aeops
DB history (``logo_changes``). The AliExpress Open Platform API aeops uses (and the local simulator) has no
store-settings/logo endpoint, so today the history is aeops' own: a logo file dropped in the store's
``logo`` location that passes the logo check (PNG, at least 800x800) with a content hash not seen before
is recorded as a rotation on ``as_of``. (Uploading it in the seller center stays a human step.)

A logo counts for the quarter only when it passes the guide's logo rules (:func:`rotation_problems`): a PNG
(``LOGO-FORMAT``), at least 800x800 (``LOGO-SIZE``) and no text over it (``LOGO-TEXT``: the text detector of
:mod:`aeops.rules.detectors`). The detector can be wrong, so a person has the last word: text it reads opens an
``image_review`` task (``logo_text:<sha256[:12]>``, asked by ``aliexpress_store_settings``); once a person closes it
("no text covers it"), that logo counts. :func:`approved_logo_problems` applies the same rules to the approved
``store_logo``, for the store-settings DAG's rotation task.

Reminders (``LOGO-STALE``): when the logo has not changed since the quarter began, one reminder at the
quarter's start and one mid-quarter follow-up (from day :data:`~aeops.catalog.dates.FOLLOW_UP_DAY`),
each at most once per quarter (``logo_reminders``). A waiting file that fails the check is listed in every
message of the run and, on its own, posted once per quarter (``logo_reminders.kind`` = ``file:<sha256[:12]>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aeops.catalog.dates import Quarter, local_date, local_midnight_utc, quarter_of
from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.findings import Finding, Text
from aeops.i18n import N_, translator
from aeops.locations import LocationError, list_files, local_copy, modified_at, read_bytes, resolve, sha256_of
from aeops.notify.finding_texts import finding_message, finding_problem
from aeops.notify.messages import notice, slack_escape
from aeops.notify.send import send
from aeops.rules.detectors import DETECTOR_VERSION, analyse, logo_findings
from aeops.rules.images import open_image_guarded
from aeops.rules.logo import LOGO_MAX_BYTES, LOGO_MIN_SIDE, check_logo
from aeops.rules.logo import NOT_HASHED as LOGO_UNREAD
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)

SPEC = N_("PNG, at least {side}x{side} px, no text covering the logo")
CHECKLIST = (
    N_("Upload the new logo in the seller center (Store settings → Logo): there is no store-settings API for "
       "aeops."),
    N_("No text covers the logo: a logo the text detector reads text on (LOGO-TEXT) counts only once a person "
       "confirms in its review task (Airflow, aliexpress_store_settings) that no text covers it."),
)
TEXT_REVIEW_PREFIX = "logo_text:"
MarketplaceLookup = Callable[[StoreConfig], datetime | None]


class LogoRotationError(RuntimeError):
    """The rotation check could not run for a store; one line saying why."""


@dataclass(frozen=True, slots=True)
class LogoCandidate:
    """A file in the store's ``logo`` location and its check result."""

    file: str
    name: str
    sha256: str | None
    problems: tuple[Finding, ...]  # what keeps it from counting (LOGO-SIZE, ..., LOGO-TEXT until a person clears it)
    size: tuple[int, int] | None = None
    modified_at: datetime | None = None
    warnings: tuple[Finding, ...] = ()  # LOGO-TEXT a person has cleared (shown, not holding it back)
    text: tuple[Finding, ...] = ()  # the text detector's findings (for the review task)

    @property
    def passed(self) -> bool:
        """Whether the logo file passed every rule (and could be read)."""
        return not self.problems and self.sha256 is not None


@dataclass
class LogoOutcome:
    """What a run found and did for one store."""

    store: str
    as_of: date
    quarter: Quarter
    last_change: date | None
    last_change_source: str | None
    stale: bool
    reminder_kind: str | None = None  # start | follow-up, when a reminder is due
    recorded: list[LogoCandidate] = field(default_factory=list)  # new rotations recorded in this run
    waiting: list[LogoCandidate] = field(default_factory=list)  # new files that fail the check
    current: list[str] = field(default_factory=list)  # files already recorded as a rotation
    new_failures: list[LogoCandidate] = field(default_factory=list)  # failing files not reported this quarter

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON (the task's return value)."""
        return {"store": self.store, "as_of": self.as_of.isoformat(), "quarter": self.quarter.label,
                "last_change": self.last_change.isoformat() if self.last_change else None,
                "stale": self.stale, "reminder": self.reminder_kind,
                "recorded": [c.name for c in self.recorded], "failing": [c.name for c in self.waiting]}


# ------------------------------------------------------------------------------------------- the folder
# ------------------------------------------------------------------------------------------- the rules
def rotation_problems(findings: Iterable[Finding], *, text_cleared: bool = False) -> list[Finding]:
    """What keeps a logo from counting as the quarter's rotation (empty: it counts): every blocking finding of the
    logo check (``LOGO-FORMAT``, ``LOGO-SIZE``) and ``LOGO-TEXT`` (text over the logo) unless a person cleared it."""
    return [f for f in findings if f.blocking or (f.code == "LOGO-TEXT" and not text_cleared)]


def text_review_key(sha256: str) -> str:
    """The person task about text over the logo of this content (shared by both logo DAGs)."""
    return f"{TEXT_REVIEW_PREFIX}{sha256[:12]}"


def cleared_texts(ledger: Ledger, store: str) -> set[str]:
    """The logo contents (``sha256[:12]``) whose text review a person closed: no text covers them."""
    return {key.removeprefix(TEXT_REVIEW_PREFIX) for key in ledger.person_tasks.closed_keys(store, "image_review")
            if key.startswith(TEXT_REVIEW_PREFIX)}


def request_text_review(ledger: Ledger, store: StoreConfig, sha256: str, location: str, findings: list[Finding],
                        run_id: str | None) -> None:
    """Text over a logo: an ``image_review`` task for a person (once per content), in the store's language."""
    _ = translator(store.language)
    name = location.rstrip("/").rsplit("/", 1)[-1]
    ledger.person_tasks.open(store.name, "image_review", text_review_key(sha256),
                             _("Check the logo {file} of {store}: text over it?").format(file=name, store=store.name),
                             {"steps": [_("Look at the logo: the platform wants no text covering it."),
                                        _("If no text covers it (the detector was wrong), answer Done: the logo then "
                                          "counts for the quarter's rotation."),
                                        _("If text covers it, make a new logo without text, set it as store_logo "
                                          "and answer Done.")],
                              "files": [_uri(location)],
                              "differences": [finding_problem(f, store.language) for f in findings]}, run_id)


def _uri(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


def approved_logo_problems(ledger: Ledger, store: StoreConfig, run_id: str | None) -> list[Finding]:
    """The approved ``store_logo`` against the logo rules (empty: it counts for the quarter). The text detector's
    result is kept per content (``image_reviews``); text it reads opens the review task a person clears."""
    if not store.store_logo:
        return []

    name = store.store_logo.rstrip("/").rsplit("/", 1)[-1]
    try:
        data = read_bytes(store.store_logo, LOGO_MAX_BYTES)
        with local_copy(resolve(store.store_logo)) as local:
            findings = [_named(f, name) for f in check_logo(local, detect_text=False)]
    except (LocationError, OSError):
        return [LOGO_UNREAD.finding(file=name, source=name)]
    if any(f.blocking for f in findings):
        return rotation_problems(findings)
    sha = hashlib.sha256(data).hexdigest()
    result, _fresh = ledger.image_reviews.analysed(store.name, sha, store.store_logo, DETECTOR_VERSION,
                                                   lambda: analyse(data, faces=False))
    text = logo_findings(result, store.store_logo)
    cleared = sha[:12] in cleared_texts(ledger, store.name)
    if text and not cleared:
        request_text_review(ledger, store, sha, store.store_logo, text, run_id)
    return rotation_problems(text, text_cleared=cleared)


# ------------------------------------------------------------------------------------------- the folder
def check_candidate(path: Any, cleared: Collection[str] = ()) -> LogoCandidate:
    """Run the logo check (``aeops logo``: :func:`aeops.rules.logo.check_logo`) on one file of the location;
    ``cleared``: the contents (``sha256[:12]``) a person confirmed no text covers."""

    sha = sha256_of(path)
    with local_copy(path) as local:
        findings = check_logo(local)
        size = None if any(f.blocking for f in findings) else _size(local)
        named = [_named(f, path.name) for f in findings]
    text_cleared = sha is not None and sha[:12] in cleared
    problems = tuple(rotation_problems(named, text_cleared=text_cleared))
    warnings = tuple(f for f in named if f.code == "LOGO-TEXT" and text_cleared)
    if sha is None and not problems:
        problems = (LOGO_UNREAD.finding(file=path.name, source=path.name),)
    return LogoCandidate(file=str(path), name=path.name, sha256=sha, problems=problems, size=size,
                         modified_at=modified_at(path), warnings=warnings,
                         text=tuple(f for f in named if f.code == "LOGO-TEXT"))


def _named(finding: Finding, name: str) -> Finding:
    """``finding`` of the local copy, told of the file's own ``name`` (what a person finds in the logo folder)."""
    def renamed(text: Text | None) -> Text | None:
        return None if text is None else Text(text.template, {**text.params, "source": name})

    return replace(finding, file=name, message="", problem=renamed(finding.problem), todo=renamed(finding.todo))


def _size(path: Any) -> tuple[int, int] | None:
    try:
        with open_image_guarded(path.read_bytes()) as im:  # the bomb guard, as on every decode
            return im.size
    except Exception:  # noqa: BLE001 - the size is only shown in the message
        return None


def scan_logo_folder(uri: str, cleared: Collection[str] = ()) -> list[LogoCandidate]:
    """Check every file of the ``logo`` location (LocationError when it is unusable); ``cleared`` as for
    :func:`check_candidate`."""

    return [check_candidate(p, cleared) for p in list_files(uri, "logo")]


# ------------------------------------------------------------------------------------------- history
def no_store_settings_api(store: StoreConfig) -> datetime | None:
    """The marketplace's "logo last changed": the API aeops uses has no store-settings endpoint, so None."""
    log.info("%s: the AliExpress Open Platform API (and the simulator) has no store-settings/logo endpoint; "
             "using the aeops DB logo history", store.name)
    return None


# ------------------------------------------------------------------------------------------- decision
def reminder_due(as_of: date, quarter: Quarter, stale: bool, sent: set[str]) -> str | None:
    """``start`` / ``follow-up`` when a LOGO-STALE reminder is due on ``as_of``, else None.

    Before day 45 of the quarter the reminder is the quarter-start one, from day 45 the follow-up; each
    once per quarter. Nothing when the logo changed this quarter.
    """
    if not stale:
        return None
    kind = "follow-up" if as_of >= quarter.follow_up_from else "start"
    return None if kind in sent else kind


def evaluate(store: StoreConfig, as_of: date, db_url: str, *,
             marketplace: MarketplaceLookup = no_store_settings_api) -> LogoOutcome:
    """Scan the logo location, record new passing logos as rotations, and decide whether to remind."""

    quarter = quarter_of(as_of)
    ledger = Ledger(db_url)
    try:
        candidates = scan_logo_folder(store.logo, cleared_texts(ledger, store.name)) if store.logo else []
    except LocationError as exc:
        raise LogoRotationError(f"{store.name}: {exc}") from None
    records = ledger.storefront
    seen = records.logo_hashes(store.name)
    outcome = LogoOutcome(store=store.name, as_of=as_of, quarter=quarter, last_change=None,
                          last_change_source=None, stale=True)
    fresh = [c for c in candidates if c.sha256 not in seen]
    outcome.current = [c.name for c in candidates if c.sha256 in seen]
    for candidate in fresh:  # one rotation per new file that passes the logo rules (by name order)
        if candidate.passed:
            records.record_logo_change(store.name, local_midnight_utc(as_of, store.timezone), candidate.sha256,
                                       candidate.file, once_per_content=True)
            outcome.recorded.append(candidate)
        else:
            outcome.waiting.append(candidate)
            if candidate.text and candidate.sha256 and all(p.code == "LOGO-TEXT" for p in candidate.problems):
                request_text_review(ledger, store, candidate.sha256, candidate.file, list(candidate.text), None)
    changed = marketplace(store)
    if changed is not None:
        outcome.last_change, outcome.last_change_source = local_date(changed, store.timezone), "marketplace"
    else:
        latest = records.last_logo_change(store.name)
        if latest is not None:
            outcome.last_change = local_date(latest.changed_at, store.timezone)
            outcome.last_change_source = "aeops DB history" if latest.source == "aeops" else latest.source
    outcome.stale = outcome.last_change is None or outcome.last_change < quarter.start
    sent = records.reminders_sent(store.name, quarter.label)
    outcome.reminder_kind = reminder_due(as_of, quarter, outcome.stale, sent)
    outcome.new_failures = [c for c in outcome.waiting if failure_key(c) not in sent]
    return outcome


def failure_key(candidate: LogoCandidate) -> str:
    """The ``logo_reminders.kind`` marking a failing file as reported this quarter."""
    digest = candidate.sha256 or hashlib.sha256(candidate.name.encode()).hexdigest()
    return f"file:{digest[:12]}"


# ------------------------------------------------------------------------------------------- message

def logo_message(outcome: LogoOutcome, lang: str | None = "en"):
    """The Slack notice for a run, in ``lang`` (None when there is nothing to say)."""

    if not (outcome.reminder_kind or outcome.recorded or outcome.new_failures):
        return None  # a failing file alone is reported once a quarter; reminders and rotations repeat it
    _ = translator(lang)
    q = outcome.quarter
    days_left = (q.end - outcome.as_of).days
    lines: list[str] = []
    if outcome.reminder_kind:
        if outcome.last_change:
            source = _("aeops DB history") if outcome.last_change_source == "aeops DB history" else (
                _("marketplace") if outcome.last_change_source == "marketplace" else outcome.last_change_source)
            since = _("last changed {day} ({source})").format(day=outcome.last_change, source=source)
        else:
            since = _("no logo change on record")
        which = _("mid-quarter follow-up") if outcome.reminder_kind == "follow-up" else _("quarterly reminder")
        title = _("LOGO-STALE: rotate the store logo by {end} ({which})").format(end=q.end, which=which)
        lines.append("• `LOGO-STALE` " + _(
            "The store logo has not changed in {quarter} ({since}). The platform wants a new logo at least once a "
            "quarter (compliant stores get +0.35 exposure weight in New Arrivals). *Deadline: {end}* ({days} "
            "day(s) left).").format(quarter=q.label, since=since, end=q.end, days=days_left))
        lines.append("• " + _("Spec: {spec}. Drop the new file in the store's logo folder; aeops checks it on the next "
                              "run (or run `aeops logo FILE`).").format(spec=_(SPEC).format(side=LOGO_MIN_SIDE)))
        severity = "warning"
    elif outcome.recorded:
        title = _("Store logo rotated for {quarter}").format(quarter=q.label)
        severity = "info"
    else:
        title = _("Logo file(s) waiting for {quarter} fail the check").format(quarter=q.label)
        severity = "warning"
    for c in outcome.recorded:
        size = f"{c.size[0]}x{c.size[1]} " if c.size else ""
        lines.append("• :white_check_mark: " + _("`{file}` passes ({size}PNG) and is recorded as the {quarter} "
                                                 "rotation.").format(file=slack_escape(c.name), size=size,
                                                                     quarter=q.label))
        lines.extend("  :eyes: " + _("{warning} (a person confirmed no text covers it)").format(
            warning=f"`{w.code}` {slack_escape(finding_message(w, lang))}") for w in c.warnings)
    for c in outcome.waiting:
        reasons = " · ".join(f"`{p.code}` {slack_escape(finding_message(p, lang))}" for p in c.problems)
        lines.append("• :x: " + _("`{file}` fails: {reasons}").format(file=slack_escape(c.name), reasons=reasons))
    checklist = _("Checklist for a person")
    lines.append(f"*{checklist}*")
    lines.extend("☐ " + _(item) for item in CHECKLIST)
    key = hashlib.sha256("|".join([outcome.reminder_kind or "", *[c.sha256 or c.name for c in outcome.recorded],
                                   *[c.sha256 or c.name for c in outcome.waiting]]).encode()).hexdigest()[:16]
    return notice(title=title, text="\n".join(lines), store=outcome.store, severity=severity,
                  fields={_("Quarter"): q.label, _("Deadline"): q.end.isoformat(),
                          _("Last change"): outcome.last_change.isoformat() if outcome.last_change
                          else _("none on record"),
                          _("As of"): outcome.as_of.isoformat()},
                  dedupe_key=f"logo:{outcome.store}:{q.label}:{key}")


# ------------------------------------------------------------------------------------------- the task
def run(store: str, as_of: date, *, config: AeopsConfig | None = None, client: Any = None,
        now: datetime | None = None, marketplace: MarketplaceLookup = no_store_settings_api) -> dict[str, Any]:
    """The DAG task for one store: evaluate, post the message, remember the reminder. Returns a summary."""

    cfg = config or load_airflow_config()
    url = cfg.resolved_database_url()
    outcome = evaluate(cfg.store(store), as_of, url, marketplace=marketplace)
    summary = outcome.to_dict()
    message = logo_message(outcome, cfg.store(store).language)
    if message is None:
        log.info("%s: logo changed %s (%s); nothing to say on %s", store, outcome.last_change,
                 outcome.last_change_source, as_of)
        return summary | {"sent": False}
    result = send(message, store=store, config=cfg, db_url=url, client=client, now=now)
    if result.outbox_id is None:
        raise LogoRotationError(f"{store}: the logo message could not be queued for Slack "
                                f"({'; '.join(result.errors)})")
    for kind in ([outcome.reminder_kind] if outcome.reminder_kind else []) + [failure_key(c) for c in outcome.waiting]:
        Ledger(url).storefront.record_reminder(store, outcome.quarter.label, kind, as_of)
    return summary | {"sent": True, "delivered": result.delivered}
