"""Compliance documents: the certificate registry, its expiry watch and the emergency replacement.

- :mod:`aeops.certificates.registry`: the ``certificates`` table: a folder scanned into the registry,
  replacements and removals, :func:`~aeops.certificates.registry.registry_certificates` (what the sync's
  CERT-MISSING rule reads);
- :mod:`aeops.certificates.alert_schedule`: which threshold alert is due (pure functions);
- :mod:`aeops.certificates.covered`: the products a certificate covers, their live status, counts per brand
  and category;
- :mod:`aeops.certificates.alert_listing`: those products named in an alert (Slack lines, the day's listing);
- :mod:`aeops.certificates.watch`: the certificate-expiry DAG's steps and its Slack message;
- :mod:`aeops.certificates.replacement` and :mod:`aeops.certificates.replacement_check`: the replacement DAG's
  steps (validate, render, upload, plan, push) and its verification and report.

Nothing here reads the wall clock for a decision: every step takes an explicit ``as_of`` date
(:mod:`aeops.catalog.dates`).
"""
