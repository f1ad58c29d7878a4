"""Post-update verification: never trust "update succeeded" (docs/verification.md).

- :mod:`aeops.verify.page_reader`: the ``StorefrontReader`` interface, the simulator and real-storefront readers;
- :mod:`aeops.verify.sampling`: which pages a pass fetches, and the sample's miss probability;
- :mod:`aeops.verify.checks`: timestamp, cross-device and language-site checks, attribution;
- :mod:`aeops.verify.runner`: passes, sensor pokes, the re-push, the final result (``verify_run``);
- :mod:`aeops.verify.strikes`: strike alerts (the records are :mod:`aeops.store.repos.verification`'s).
"""
