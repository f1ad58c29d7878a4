"""Compliance watches: the certificate registry with expiry escalation, and the quarterly logo rotation.

- :mod:`aeops.compliance.dates`: ``as_of`` parsing (today in the store's zone), quarters.
- :mod:`aeops.compliance.locations`: list/read files of a store location (path, ``file://``, ``s3://`` ...).
- :mod:`aeops.compliance.registry`: the ``certificates`` table: scan -> registry, replacements,
  :func:`~aeops.compliance.registry.registry_certificates` (read API for the sync's CERT-MISSING rule).
- :mod:`aeops.compliance.escalation`: which threshold alert is due (pure functions).
- :mod:`aeops.compliance.exposure`: live products at risk per brand and category.
- :mod:`aeops.compliance.cert_watch`: the certificate-expiry DAG's steps and its Slack message.
- :mod:`aeops.compliance.logo_rotation`: the logo-rotation DAG's step and its Slack message.

Nothing here reads the wall clock for a decision: every step takes an explicit ``as_of`` date.
"""
