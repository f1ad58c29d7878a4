"""``--faults``: what the simulator does wrong on purpose (throttling, failures, lost answers, slow sites, anti-bot
pages), and
the few platform settings a test wants to change (review time, the platform's time zone)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, fields

DEVICES = ("desktop", "mobile", "anonymous")
SITES = ("en", "ru", "es", "fr", "pt")


@dataclass
class Faults:
    """``--faults`` settings. Probabilities are per call (``item_fail`` per product); all draws come from one
    ``random.Random(seed)`` per process, and ``stale_site`` is a pure function of (seed, product, site)."""

    throttle: float = 0.0  # answer ApiCallLimit ("ban will last 1 seconds")
    item_fail: float = 0.0  # a product lands in update_failed_list with a retryable system code
    server_error: float = 0.0  # answer a SYSTEM error_response (nothing applied)
    lost_response: float = 0.0  # apply the call, then drop the connection without an answer
    stale_site: float = 0.0  # share of (product, language site) pairs that keep showing the seeded values
    propagation_s: float = 0.0  # delay between a write and its visibility on storefront views
    latency_ms: float = 0.0  # added to every API answer
    qps: float = 0.0  # per-seller calls per second; more are answered with ApiCallLimit (0 = no limit)
    never_device: str = ""  # a device (desktop/mobile/anonymous) that never shows updates
    antibot: float = 0.0  # share of storefront page requests answered with the anti-bot (punish) page
    antibot_site: str = ""  # a language site (en/ru/es/fr/pt) whose every page is answered with the punish page
    daily_quota: int = 0  # calls per app per process before AppCallLimit (daily) (0 = no limit)
    seed: int = 0
    review_s: float = 5.0  # how long the platform's review of a new main image takes (the real one: up to 2 h)
    review_skip: float = 0.0  # share of main-image edits the platform never reviews (assumed: stays onSelling)
    qualification_s: float = 5.0  # from a valid qualification image to onSelling again (the guide: within 2 h)
    platform_tz: str = "Asia/Shanghai"  # the zone gmt_* strings are rendered and parsed in (Beijing time)

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """``"throttle=0.1,item_fail=0.05,propagation_s=2,never_device=mobile,seed=7"`` -> Faults.

        Raises ValueError with a one-line reason on unknown keys or bad values.
        """
        faults = cls()
        if not spec:
            return faults
        types = {f.name: f.type for f in fields(cls)}
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in types:
                raise ValueError(f"bad fault {part!r}; known: {', '.join(types)}")
            value = value.strip()
            try:
                if key == "never_device":
                    if value not in DEVICES:
                        raise ValueError
                    setattr(faults, key, value)
                elif key == "antibot_site":
                    if value not in SITES:
                        raise ValueError
                    setattr(faults, key, value)
                elif key == "platform_tz":
                    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

                    try:
                        ZoneInfo(value)
                    except (ZoneInfoNotFoundError, ValueError):
                        raise ValueError from None
                    setattr(faults, key, value)
                elif key in {"seed", "daily_quota"}:
                    setattr(faults, key, int(value))
                else:
                    number = float(value)
                    if number < 0 or (key in {"throttle", "item_fail", "server_error", "lost_response",
                                               "stale_site", "antibot", "review_skip"} and number > 1):
                        raise ValueError
                    setattr(faults, key, number)
            except ValueError:
                raise ValueError(f"bad value for fault {key}: {value!r}") from None
        return faults

    def rng(self) -> random.Random:
        """A random generator seeded from the fault settings (reproducible faults)."""
        return random.Random(self.seed)

    def is_stale(self, product_id: int, site: str) -> bool:
        """Whether ``site`` shows a stale page for the product (a fixed share of products per seed)."""
        if self.stale_site <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}:{product_id}:{site}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.stale_site
