"""The ``aeops`` subcommands, one module each (:mod:`aeops.cli` parses the arguments and maps errors to exit codes).

- :mod:`~aeops.commands.checks`: ``aeops validate``, ``aeops certs``, ``aeops logo``;
- :mod:`~aeops.commands.simulator`: ``aeops simulator``;
- :mod:`~aeops.commands.slack_sink`: ``aeops slack-sink``;
- :mod:`~aeops.commands.db`: ``aeops db``.
"""
