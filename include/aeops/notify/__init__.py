"""aeops.notify: Slack messages (Block Kit), the outbox, failure callbacks and the local Slack sink.

- :mod:`aeops.notify.messages`: ``failure_alert``, ``sync_summary``, ``summary_details``, ``notice``;
- :mod:`aeops.notify.send`: ``send(message, store=...)`` = outbox + delivery through ``SlackHook``;
- :mod:`aeops.notify.outbox`: ``enqueue``, ``deliver_pending`` (ordered, folded, retried);
- :mod:`aeops.notify.callbacks`: ``on_failure_callback(store=...)`` for DAGs and tasks;
- :mod:`aeops.notify.pages`: the run's failures and its one page;
- :mod:`aeops.notify.outbox_admin`: the outbox's health, listing and drops (``aeops slack``);
- :mod:`aeops.notify.links`: report links for Slack (http(s), from the API base URL);
- :mod:`aeops.notify.slack_sink`: ``SlackSink`` and ``aeops slack-sink``.

Import the submodules directly; this package imports nothing heavy.
"""
