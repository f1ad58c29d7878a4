"""The ``aeops`` subcommands, one module each (:mod:`aeops.cli` parses the arguments and maps errors to exit codes).

- :mod:`~aeops.commands.validate`: ``aeops validate``; :mod:`~aeops.commands.certs`: ``aeops certs``;
  :mod:`~aeops.commands.logo`: ``aeops logo`` (what the three share, the findings table: :mod:`~aeops.commands.output`);
- :mod:`~aeops.commands.simulator`: ``aeops simulator``;
- :mod:`~aeops.commands.slack_sink`: ``aeops slack-sink``;
- :mod:`~aeops.commands.db`: ``aeops db``;
- :mod:`~aeops.commands.slack`: ``aeops slack``;
- :mod:`~aeops.commands.lock`: ``aeops lock``.
"""
