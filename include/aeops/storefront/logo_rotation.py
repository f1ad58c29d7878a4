"""Quarterly logo rotation: know when the store logo last changed, check new logo files, remind when stale.

Where "last changed" comes from: the marketplace's store settings where an API offers them, else the aeops
DB history (``logo_changes``). The AliExpress Open Platform API aeops uses (and the local simulator) has no
store-settings/logo endpoint, so today the history is aeops' own: a logo file dropped in the store's
``logo`` location that passes the logo check (PNG, at least 800x800) with a content hash not seen before
is recorded as a rotation on ``as_of``. (Uploading it in the seller center stays a human step.)

Reminders (``LOGO-STALE``): when the logo has not changed since the quarter began, one reminder at the
quarter's start and one mid-quarter follow-up (from day :data:`~aeops.catalog.dates.FOLLOW_UP_DAY`),
each at most once per quarter (``logo_reminders``). A waiting file that fails the check is listed in every
message of the run and, on its own, posted once per quarter (``logo_reminders.kind`` = ``file:<sha256[:12]>``).
"No text covering the logo" cannot be checked reliably
by a machine here: the message lists it as a checklist item for a person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aeops.catalog.dates import Quarter, local_date, local_midnight_utc, quarter_of
from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.i18n import N_, translator
from aeops.notify.messages import slack_escape
from aeops.rules.logo import LOGO_MIN_SIDE
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)

SPEC = N_("PNG, at least {side}x{side} px, no text covering the logo")
CHECKLIST = (
    N_("Upload the new logo in the seller center (Store settings → Logo): there is no store-settings API for "
       "aeops."),
    N_("No text covers the logo: aeops' text detector warns (LOGO-TEXT) when it reads any; a person has the last "
       "word."),
)
MarketplaceLookup = Callable[[StoreConfig], datetime | None]


class LogoRotationError(RuntimeError):
    """The rotation check could not run for a store; one line saying why."""


@dataclass(frozen=True, slots=True)
class LogoCandidate:
    """A file in the store's ``logo`` location and its check result."""

    file: str
    name: str
    sha256: str | None
    problems: tuple[str, ...]  # "LOGO-SIZE: ..." lines; empty when it passes
    size: tuple[int, int] | None = None
    modified_at: datetime | None = None
    warnings: tuple[str, ...] = ()  # "LOGO-TEXT: ..." lines: a person checks them

    @property
    def passed(self) -> bool:
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
        return {"store": self.store, "as_of": self.as_of.isoformat(), "quarter": self.quarter.label,
                "last_change": self.last_change.isoformat() if self.last_change else None,
                "stale": self.stale, "reminder": self.reminder_kind,
                "recorded": [c.name for c in self.recorded], "failing": [c.name for c in self.waiting]}


# ------------------------------------------------------------------------------------------- the folder
def check_candidate(path: Any) -> LogoCandidate:
    """Run the logo check (``aeops logo``: :func:`aeops.rules.logo.check_logo`) on one file of the location."""
    from aeops.locations import local_copy, modified_at, sha256_of
    from aeops.rules.logo import check_logo

    sha = sha256_of(path)
    with local_copy(path) as local:
        findings = check_logo(local)
        size = None if findings else _size(local)
    problems = tuple(f"{f.code}: {f.message.replace(str(local), path.name)}" for f in findings if f.blocking)
    warnings = tuple(f"{f.code}: {f.message.replace(str(local), path.name)}" for f in findings if not f.blocking)
    if sha is None and not problems:
        problems = ("LOGO-FORMAT: the file cannot be read",)
    return LogoCandidate(file=str(path), name=path.name, sha256=sha, problems=problems, size=size,
                         modified_at=modified_at(path), warnings=warnings)


def _size(path: Any) -> tuple[int, int] | None:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - the size is only shown in the message
        return None


def scan_logo_folder(uri: str) -> list[LogoCandidate]:
    """Check every file of the ``logo`` location (LocationError when it is unusable)."""
    from aeops.locations import list_files

    return [check_candidate(p) for p in list_files(uri, "logo")]


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
    from aeops.locations import LocationError

    quarter = quarter_of(as_of)
    try:
        candidates = scan_logo_folder(store.logo) if store.logo else []
    except LocationError as exc:
        raise LogoRotationError(f"{store.name}: {exc}") from None
    records = Ledger(db_url).storefront
    seen = records.logo_hashes(store.name)
    outcome = LogoOutcome(store=store.name, as_of=as_of, quarter=quarter, last_change=None,
                          last_change_source=None, stale=True)
    fresh = [c for c in candidates if c.sha256 not in seen]
    outcome.current = [c.name for c in candidates if c.sha256 in seen]
    for candidate in fresh:  # one rotation per new passing file (by name order)
        if candidate.passed:
            records.record_logo_change(store.name, local_midnight_utc(as_of, store.timezone), candidate.sha256,
                                       candidate.file, once_per_content=True)
            outcome.recorded.append(candidate)
        else:
            outcome.waiting.append(candidate)
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
    from aeops.notify.messages import notice

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
        lines.extend(f"  :warning: {slack_escape(w)}" for w in c.warnings)
    for c in outcome.waiting:
        reasons = "; ".join(slack_escape(p) for p in c.problems)
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
    from aeops.notify.send import send

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
