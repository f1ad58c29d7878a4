"""The lines of the certificate watch's Slack message for one file, in the store's language: what it is, how urgent,
what it keeps on sale and what is at risk (every product of its scope, the file's own brand marked), what to do.

Certificates (CE, CPC, ...) keep the products of the categories needing their type on sale; a category admission
those of the categories it names; a brand authorisation every product of its brand
(:func:`aeops.certificates.covered.scope_of`). A newer file of the same brand and type that waits for a person's
approval (a changed issuer) is named under the alert of the file still in force.
"""

from __future__ import annotations

from typing import Any

from aeops.certificates import alert_schedule
from aeops.certificates.alert_listing import product_lines
from aeops.certificates.covered import LIVE, SHOWN
from aeops.i18n import translator
from aeops.notify.messages import slack_escape
from aeops.rules.documents import BRAND_AUTH, CATEGORY_ADMISSION, type_label

ICON = {"expired": ":red_circle:", "deadline": ":red_circle:", "warning": ":warning:", "invalid": ":x:",
        "closed": ":white_check_mark:", "removed": ":heavy_minus_sign:"}


def file_name(file: str) -> str:
    """A registry file's name without its folder."""
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def risk_line(alert: Any, source: str, lang: str | None = "en") -> str:
    """What the file keeps on sale and how many live products are at risk (in ``lang``)."""
    _ = translator(lang)
    brand = slack_escape(alert.brand or "?")
    if alert.scope.brand_only:
        needed = _("covers every product of {brand}").format(brand=brand)
    elif not alert.categories:
        return _("no configured category needs it (stores[].category_certs)")
    else:
        needed = _("needed by: {categories}").format(categories=", ".join(slack_escape(c) for c in alert.categories))
    if alert.covered_by:
        risk = _("live products at risk: *0*")
    elif alert.live:
        risk = _("live products at risk: *{n}* of {total} (status from the platform)").format(
            n=alert.at_risk, total=len(alert.products))
    else:
        risk = _("live products at risk: *{n}* ({source})").format(n=alert.at_risk, source=slack_escape(source))
    line = f"{needed} · {risk}"
    own = [p for p in alert.products if p.covered]
    if alert.products and not alert.scope.brand_only and len(own) < len(alert.products):
        line += " · " + _("{n} of them by {brand} (this file's brand)").format(
            n=len(own) if not alert.live else sum(1 for p in own if p.status == LIVE), brand=brand)
    return line


def _todo(alert: Any, values: dict[str, Any], lang: str | None, deadline_days: int) -> str:
    """What to do about a warning, deadline or expiry (a document's wording differs from a certificate's)."""
    _ = translator(lang)
    if alert.cert_type == BRAND_AUTH:
        owner = slack_escape(alert.issuer) if alert.issuer else _("the brand owner")
        if alert.kind == "expired":
            return _("Without a valid brand authorisation every product of {brand} is delisted: get the renewed "
                     "letter from {owner}, upload it in the seller center and put {renewal} in the certificate "
                     "folder. Repeats daily until then.").format(owner=owner, **values)
        return _("Ask {owner} for the renewed brand authorisation and upload it in the seller center; put {renewal} "
                 "in the certificate folder and this alert closes. At expiry every product of {brand} is "
                 "delisted.").format(owner=owner, **values)
    if alert.cert_type == CATEGORY_ADMISSION:
        if alert.kind == "expired":
            return _("Without a valid category admission every product of {categories} is delisted: renew the "
                     "admission in the seller center and put {renewal} in the certificate folder. Repeats daily "
                     "until then.").format(**values)
        return _("Renew the category admission in the seller center; put {renewal} in the certificate folder and "
                 "this alert closes. At expiry every product of {categories} is delisted.").format(**values)
    if alert.kind == "expired":
        return _("Every product of {categories} is delisted until a valid {type} certificate is uploaded: upload "
                 "the renewal in the seller center now and put {renewal} in the certificate folder. Repeats daily "
                 "until then.").format(**values)
    if alert.kind == "deadline":
        return _("Toys' CPC must be re-uploaded at least {deadline} days before expiry: upload the renewal in the "
                 "seller center today and put {renewal} in the certificate folder. At expiry every product of "
                 "{categories} is delisted (ERR-412).").format(deadline=deadline_days, **values)
    if alert.issuer:
        todo = _("Order the renewal from {issuer} and upload it in the seller center; put {renewal} in the "
                 "certificate folder and this alert closes. At expiry every product of {categories} is "
                 "delisted (ERR-412).").format(issuer=slack_escape(alert.issuer), **values)
    else:
        todo = _("Order the renewal and upload it in the seller center; put {renewal} in the certificate "
                 "folder and this alert closes. At expiry every product of {categories} is delisted "
                 "(ERR-412).").format(**values)
    if alert.cert_type == "CPC":
        todo += " " + _("Toys' CPC must be re-uploaded at least {deadline} days before expiry.").format(
            deadline=deadline_days)
    return todo


def alert_line(alert: Any, source: str, lang: str | None = "en", deadline_days: int = 30,
               shown: int = SHOWN) -> str:
    """The message lines for one file (in ``lang``): what, how urgent, what is at risk (the first ``shown``
    products by name), what to do."""

    _ = translator(lang)
    document = alert.cert_type in (BRAND_AUTH, CATEGORY_ADMISSION)
    who = f"*{slack_escape(alert.brand or '?')} {slack_escape(type_label(alert.cert_type or '?', _))}*"
    name = f"`{slack_escape(file_name(alert.file))}`"
    renewal = f"{slack_escape(alert.brand)}_{slack_escape(alert.cert_type)}_<ValidUntilYYYYMMDD>.pdf"
    values = {"who": who, "file": name, "renewal": renewal, "brand": slack_escape(alert.brand),
              "type": slack_escape(alert.cert_type), "until": alert.valid_until, "categories":
              ", ".join(slack_escape(c) for c in alert.categories) or _("its category")}
    if alert.kind == "expired":
        head = _("{who} {file}: *expired* {days} day(s) ago (valid until {until}) · `ERR-412`").format(
            days=-(alert.days_left or 0), **values)
    elif alert.kind == "deadline":
        head = _("{who} {file}: *{days} day(s) left* (valid until {until}) · *the re-upload deadline has passed*"
                 ).format(days=alert.days_left, **values)
    elif alert.kind == "warning":
        head = _("{who} {file}: *{days} day(s) left* (valid until {until}) · {threshold}").format(
            days=alert.days_left, threshold=alert_schedule.describe(alert.threshold or 0, lang), **values)
    elif alert.kind == "invalid":
        head = (_("{who} {file}: *the file cannot count* as a compliance document") if document
                else _("{who} {file}: *the file cannot count* as a certificate")).format(**values)
        if alert.covered_by:
            cover, until = alert.covered_by
            head += " " + _("(the brand is covered by `{cover}`, valid until {until}: fix or remove this "
                            "file)").format(cover=slack_escape(cover), until=until)
    elif alert.kind == "closed":
        new, until = alert.successor or (_("a newer certificate"), None)
        if until:
            head = _("{who} {file}: *alert closed*, replaced by `{new}` (valid until {new_until})").format(
                new=slack_escape(new), new_until=until, **values)
        else:
            head = _("{who} {file}: *alert closed*, replaced by `{new}`").format(new=slack_escape(new), **values)
    else:  # removed
        head = _("{who} {file}: *no longer in the certificate folder*; its alert stops").format(**values)
    if alert.kind in ("expired", "deadline", "warning"):
        todo = _todo(alert, values, lang, deadline_days)
    elif alert.kind == "invalid":
        todo = "; ".join(slack_escape(r) for r in alert.reasons) or _("see `aeops certs` on the folder")
    elif alert.kind == "closed":
        todo = (_("Make sure the new document is uploaded in the seller center.") if document else
                _("Make sure the new certificate is uploaded in the seller center: the platform restores the "
                  "category's rights within 2 hours of the upload."))
        if alert.successor_issuer:
            todo += " " + _("The new file is issued by {new} (this one by {old}).").format(
                new=slack_escape(alert.successor_issuer), old=slack_escape(alert.issuer or "?"))
    elif document:
        todo = _("If the store still needs this {label}, put the renewal {renewal} there.").format(
            label=type_label(alert.cert_type, _), **values)
    else:
        todo = _("If products of {categories} still need a {type} certificate, put the renewal {renewal} "
                 "there.").format(**values)
    lines = [f"• {ICON[alert.kind]} {head}"]
    if alert.kind != "invalid" or alert.categories or alert.scope.brand_only:
        lines.append(f"      {risk_line(alert, source, lang)}")
    if alert.products:
        lines += [f"        {line}" for line in product_lines(alert.products, lang, shown,
                                                                   marked=not alert.scope.brand_only)]
    for held, issuer in alert.held:
        lines.append("      ⏸ " + _("`{file}` ({issuer}) is in the folder but waits for a person's approval of its "
                                   "upload: answer it in Airflow (Required actions, aliexpress_certificate_replace) "
                                   "or trigger that DAG with it; until then this file stays in force.").format(
            file=slack_escape(held), issuer=slack_escape(issuer or "?")))
    lines.append(f"      → {todo}")
    return "\n".join(lines)
