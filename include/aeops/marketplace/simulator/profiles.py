"""Simulator profiles: how much beyond the platform's documentation the simulator answers.

- ``rich`` (the default): the simulator's assumptions too (docs/simulator.md marks them "assumed"): the seller
  profile's ``account_status`` and ``merchant_type``, the review's ``audit_failure_reason``, the offline reason's
  detail, the item page's ``simulatorComponent.gmtModified``, the data center's completion rate, the store page's
  ``banners`` and ``responseTime``. The demo tokens are valid a year (refresh two), a refreshed access token 30
  days. For tests that need the richer data.
- ``documented``: what the platform documents (docs/aliexpress-api.md), as aeops will meet it on a real store:
  none of the fields above (the completion rate's URL answers 404), and tokens that expire after the documented
  lifetimes of a launched app (access 30 days, refresh 60 days; §3.3): the seeded demo tokens are cut to them
  when the simulator starts, and an expired access token is refused (``IllegalAccessToken``).

``token_ttl_s`` shortens the access tokens' lifetime (and, unless ``refresh_token_ttl_s`` says otherwise, the
refresh tokens' to twice it: the test app's 1 day / 2 days ratio) in either profile, for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DAY_S = 86_400.0
PROFILE_NAMES = ("rich", "documented")
PROFILE_ENV = "AEOPS_SIMULATOR_PROFILE"


@dataclass(frozen=True)
class Profile:
    """What the simulator answers: ``assumed`` fields or not, and the tokens' lifetimes (seconds)."""

    name: str
    assumed: bool  # answer the fields and endpoints no public documentation shows
    access_ttl_s: float = 30 * DAY_S  # an access token the platform issues (create, refresh)
    refresh_ttl_s: float = 730 * DAY_S  # a refresh token the platform issues (create)
    cap_tokens: bool = False  # tokens already in the state live at most these lifetimes from the simulator's start

    def describe(self) -> str:
        """The profile in one line: its name, whether it has the assumed fields, token lifetimes."""
        tokens = f"access tokens {_span(self.access_ttl_s)}, refresh tokens {_span(self.refresh_ttl_s)}"
        return f"{self.name} ({'with' if self.assumed else 'without'} the assumed fields; {tokens})"


def _span(seconds: float) -> str:
    return f"{seconds / DAY_S:g} days" if seconds >= DAY_S and seconds % DAY_S == 0 else f"{seconds:g} s"


RICH = Profile("rich", assumed=True)
DOCUMENTED = Profile("documented", assumed=False, access_ttl_s=30 * DAY_S, refresh_ttl_s=60 * DAY_S, cap_tokens=True)
PROFILES = {"rich": RICH, "documented": DOCUMENTED}


def make_profile(name: str | None = None, *, token_ttl_s: float | None = None,
                 refresh_token_ttl_s: float | None = None) -> Profile:
    """The named profile (default ``rich``), its token lifetimes shortened as asked; ValueError with one line."""
    key = (name or "rich").strip().lower()
    if key not in PROFILES:
        raise ValueError(f"unknown simulator profile {name!r}; known: {', '.join(PROFILE_NAMES)}")
    profile = PROFILES[key]
    for label, value in (("token TTL", token_ttl_s), ("refresh token TTL", refresh_token_ttl_s)):
        if value is not None and not value > 0:
            raise ValueError(f"the {label} must be a positive number of seconds, not {value!r}")
    if token_ttl_s is not None:
        profile = replace(profile, access_ttl_s=float(token_ttl_s), refresh_ttl_s=2 * float(token_ttl_s),
                          cap_tokens=True)
    if refresh_token_ttl_s is not None:
        profile = replace(profile, refresh_ttl_s=float(refresh_token_ttl_s), cap_tokens=True)
    return profile
