"""aeops.urgent: the manually triggered urgent re-run (DAG ``aliexpress_urgent_rerun``).

- :mod:`~aeops.urgent.form`: the trigger form's Params (names, types, choices, help), as the UI shows them;
- :mod:`~aeops.urgent.request`: the trigger's parameters, validated into an
  :class:`~aeops.urgent.request.UrgentRequest`;
- :mod:`~aeops.urgent.pricing`: price override maths (percent or absolute, floor/ceiling guards, cents);
- :mod:`~aeops.urgent.change_sets`: each mode's change set (re-using :mod:`aeops.catalog.diff` and the ledger);
- :mod:`~aeops.urgent.approval`: the approval of risky overrides (the form's text and the decision);
- :mod:`~aeops.urgent.progress`: the deadline and its Slack messages (started, half-way, late, done);
- :mod:`~aeops.urgent.steps`: one function per DAG task.
"""
