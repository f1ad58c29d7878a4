"""The urgent re-run's request: the trigger form's values checked into one typed :class:`UrgentRequest`.

The DAG's ``Param`` schema already checks types and enums when a run is triggered; :func:`parse_request`
checks what a schema cannot (the store is configured, each mode has what it needs, floor below ceiling)
and turns every problem into one :class:`RequestError` line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aeops.i18n import translator
from aeops.urgent.pricing import Guards, PriceError, to_decimal

MODES = {
    "retry_failed": "Retry what failed or is unverified in a run",
    "skus": "Re-sync listed SKUs from the latest export",
    "price_override": "Price override (file or percentage)",
    "revert": "Revert a price override run",
}
SCOPES = {"store": "Whole store", "category": "One category", "skus": "The SKU list"}
MIN_REASON = 10
DEFAULT_DEADLINE_MINUTES = 15
PLANNED_MAX_DAYS = 14
"""A planned override starts at most this many days after it is triggered, and ends at most this many days after
its start (its run waits deferred in between: the bound keeps a forgotten one from waiting for ever)."""


class RequestError(ValueError):
    """The trigger's parameters cannot be run; the message says which and why."""


@dataclass(frozen=True)
class UrgentRequest:
    """An urgent re-run as a person asked for it in the trigger form (checked by :func:`parse_request`)."""
    store: str
    mode: str
    reason: str
    deadline_minutes: float = DEFAULT_DEADLINE_MINUTES
    dry_run: bool = False
    run_id: str | None = None  # retry_failed: the run to retry (None: latest daily); revert: the run to undo
    skus: tuple[str, ...] = ()
    price_file: str | None = None
    percent: Decimal | None = None
    scope: str = "store"
    category: str | None = None
    guards: Guards = field(default_factory=Guards)
    hold_until: str | None = None  # price_override: held against the daily sync until then (None: until reverted)
    start_at: str | None = None  # price_override: a planned override starts on its own then (store time)
    end_at: str | None = None  # a planned override's prices revert then (store time; None: they stay)

    def audit(self) -> dict[str, Any]:
        """What the audit record keeps: every parameter, as JSON-able values."""
        return {"store": self.store, "mode": self.mode, "reason": self.reason,
                "deadline_minutes": self.deadline_minutes, "dry_run": self.dry_run, "run_id": self.run_id,
                "skus": list(self.skus), "price_file": self.price_file,
                "percent": None if self.percent is None else str(self.percent), "scope": self.scope,
                "category": self.category,
                "floor_price": None if self.guards.floor is None else str(self.guards.floor),
                "ceiling_price": None if self.guards.ceiling is None else str(self.guards.ceiling),
                "hold_until": self.hold_until, "start_at": self.start_at, "end_at": self.end_at}

    def describe(self, lang: str | None = "en") -> str:
        """One line for Slack and the run's message (in ``lang``), e.g. ``price_override: -20% on the whole store``.

        The mode's name stays as it is (it is what the trigger form and the REST API take)."""

        _ = translator(lang)
        if self.mode == "retry_failed":
            run = self.run_id or _("(latest daily sync)")
            return "retry_failed: " + _("retry of run {run}").format(run=run)
        if self.mode == "skus":
            return "skus: " + _("re-sync {n} SKU(s) from the latest export").format(n=len(self.skus))
        if self.mode == "revert":
            return "revert: " + _("revert of price override run {run}").format(run=self.run_id)
        if self.price_file:
            what = _("absolute prices from {file}").format(file=self.price_file)
        else:
            target = {"store": _("the whole store"), "category": _("category {category}"),
                      "skus": _("{n} SKU(s)")}[self.scope].format(category=self.category, n=len(self.skus))
            what = _("{percent} on {target}").format(percent=f"{self.percent:+}%", target=target)
        bounds = []
        if self.guards.floor is not None:
            bounds.append(_("floor {price}").format(price=self.guards.floor))
        if self.guards.ceiling is not None:
            bounds.append(_("ceiling {price}").format(price=self.guards.ceiling))
        return f"price_override: {what}" + (f" ({', '.join(bounds)})" if bounds else "")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _skus(value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value.replace(",", "\n").splitlines() if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        code = str(item).strip()
        if code and code not in out:
            out.append(code)
    return tuple(out)


def recorded_request(run: Any) -> UrgentRequest:
    """The request a run recorded when it started (``artifacts.request``); RequestError when it has none."""
    data = dict((run.artifacts or {}).get("request") or {})
    if not data:
        raise RequestError(f"run {run.run_id} has no recorded request (start did not finish)")
    guards = Guards(to_decimal(data.pop("floor_price")), to_decimal(data.pop("ceiling_price")))
    data["percent"] = to_decimal(data.get("percent"))
    data["skus"] = tuple(data.get("skus") or ())
    return UrgentRequest(guards=guards, **data)


def parse_request(params: Mapping[str, Any], configured_stores: list[str]) -> UrgentRequest:
    """Check the trigger's parameters; RequestError naming the first problem otherwise."""
    store = _text(params.get("store"))
    if not store or store not in configured_stores:
        shown = f"unknown store {store!r}" if store else "no store given"
        raise RequestError(f"{shown}; configured stores: {', '.join(configured_stores)}")
    mode = _text(params.get("mode"))
    if mode not in MODES:
        raise RequestError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    reason = _text(params.get("reason")) or ""
    if len(reason) < MIN_REASON:
        raise RequestError(f"reason is required (at least {MIN_REASON} characters): say why this run is urgent")
    try:
        deadline = float(params.get("deadline_minutes") or DEFAULT_DEADLINE_MINUTES)
    except (TypeError, ValueError):
        raise RequestError(f"deadline_minutes must be a number, not {params.get('deadline_minutes')!r}") from None
    if deadline <= 0:
        raise RequestError("deadline_minutes must be positive")
    try:
        guards = Guards(to_decimal(params.get("floor_price"), "floor price"),
                        to_decimal(params.get("ceiling_price"), "ceiling price"))
        percent = to_decimal(params.get("percent"), "percent")
    except PriceError as exc:
        raise RequestError(str(exc)) from None
    request = UrgentRequest(
        store=store, mode=mode, reason=reason, deadline_minutes=deadline, dry_run=bool(params.get("dry_run")),
        run_id=_text(params.get("run_id")), skus=_skus(params.get("skus")), price_file=_text(params.get("price_file")),
        percent=percent, scope=_text(params.get("scope")) or "store", category=_text(params.get("category")),
        guards=guards, hold_until=_text(params.get("hold_until")) or _text(params.get("end_at")),
        start_at=_text(params.get("start_at")), end_at=_text(params.get("end_at")),
    )
    _check_planned(request)
    if request.hold_until:
        try:
            datetime.fromisoformat(request.hold_until)
        except ValueError:
            raise RequestError(f"hold_until must be a date and time like 2026-12-01T23:59 (store time), not "
                               f"{request.hold_until!r}") from None
        if request.mode != "price_override":
            raise RequestError("hold_until applies to mode price_override only")
    _check_mode(request)
    return request


def planned_times(request: UrgentRequest, timezone: str) -> tuple[datetime | None, datetime | None]:
    """A planned override's start and end as aware times (without an offset: the store's ``timezone``)."""

    def when(text: str | None) -> datetime | None:
        if not text:
            return None
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))

    return when(request.start_at), when(request.end_at)


def _check_planned(r: UrgentRequest) -> None:
    """start_at / end_at: ISO times, price_override only, the end after the start, within the bounds."""

    for name in ("start_at", "end_at"):
        value = getattr(r, name)
        if not value:
            continue
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise RequestError(f"{name} must be a date and time like 2026-11-27T00:00 (store time), not "
                               f"{value!r}") from None
        if r.mode != "price_override":
            raise RequestError(f"{name} applies to mode price_override only (a planned override)")
    if r.end_at and not r.start_at:
        raise RequestError("end_at needs start_at: a planned override starts before it ends")
    if r.start_at and r.end_at:
        start, end = planned_times(r, "UTC")
        if start is not None and end is not None:
            if end <= start:
                raise RequestError(f"end_at {r.end_at} must be after start_at {r.start_at}")
            if end - start > timedelta(days=PLANNED_MAX_DAYS):
                raise RequestError(f"end_at must be within {PLANNED_MAX_DAYS} days of start_at")


def _check_mode(r: UrgentRequest) -> None:
    if r.mode == "skus" and not r.skus:
        raise RequestError("mode skus needs the SKU codes to re-sync in skus")
    if r.mode == "revert" and not r.run_id:
        raise RequestError("mode revert needs run_id: the Airflow run id of the price override to undo")
    if r.mode != "price_override":
        return
    if bool(r.price_file) == (r.percent is not None):
        raise RequestError("mode price_override needs exactly one of price_file (absolute prices) or percent")
    if r.percent is not None:
        if r.percent <= -100:
            raise RequestError(f"percent must be above -100, not {r.percent}")
        if r.percent == 0:
            raise RequestError("percent 0 changes nothing")
        if r.scope not in SCOPES:
            raise RequestError(f"scope must be one of {', '.join(SCOPES)}, not {r.scope!r}")
        if r.scope == "category" and not r.category:
            raise RequestError("scope category needs category (as in the export's category column)")
        if r.scope == "skus" and not r.skus:
            raise RequestError("scope skus needs the SKU codes in skus")
