"""Post-update verification: never trust "update succeeded" (docs/verification.md).

- :mod:`aeops.verify.page_reader`: the ``StorefrontReader`` interface, the simulator and real-storefront readers;
- :mod:`aeops.verify.page_parser`: an item page's data (three page generations, base vs display currency);
- :mod:`aeops.verify.unreadable`: answers that are no product page (anti-bot, login and geo redirects);
- :mod:`aeops.verify.sampling` / :mod:`aeops.verify.politeness`: which pages a run reads within its budget, at
  what rate per site;
- :mod:`aeops.verify.checks`: timestamp, product query, cross-device and language-site checks, attribution;
- :mod:`aeops.verify.passes`: one pass (the API for every product, pages for the sample);
- :mod:`aeops.verify.runner`: sensor pokes, the re-push, the final result (``verify_run``);
- :mod:`aeops.verify.strikes`: strike alerts (the records are :mod:`aeops.store.repos.verification`'s).
"""
