"""The ``aeops`` command: check exports, certificates and logos; run the local simulator and Slack sink; operate
the aeops DB (``db``), the Slack outbox (``slack``) and the per-store write locks (``lock``); add a store
(``store add``) and check a deployment (``doctor``).

Exit codes (the contract in docs/design.md): 0 = checked, nothing blocking; 1 = checked, findings that block
some rows or files; 2 = could not check at all. On exit 2 stderr carries one line ``error: ...`` and no
traceback (set ``AEOPS_DEBUG=1`` to see one).

Each subcommand's work lives in :mod:`aeops.commands` (one module each); this module only parses arguments and
maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from aeops import __version__
from aeops.errors import EXIT_CANNOT_CHECK, CommandError
from aeops.logs import configure_cli_logging


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CANNOT_CHECK)


def _handler(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    """A lazy reference to ``module.func(args) -> int`` so ``aeops --help`` stays fast."""

    def run(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), func)(args))

    run.__qualname__ = f"{module}.{func}"
    return run


def _add_as_of(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="judge dates (expiry, validity) as of this day instead of today",
    )


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lang",
        choices=["zh-CN", "en"],
        help="language of the table, its finding messages and the summary (default: $AEOPS_LANGUAGE, else the "
        "first configured store's language, zh-CN unless set); --json output is the same in every language",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``aeops`` argument parser with every subcommand (each runs its module in :mod:`aeops.commands`)."""
    parser = _Parser(
        prog="aeops",
        description="Keep an AliExpress store's catalog, certificates and store settings correct.",
        epilog="Exit codes: 0 checked, nothing blocking; 1 findings block some rows or files; 2 could not check.",
    )
    parser.add_argument("--version", action="version", version=f"aeops {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        help="check a catalog export (CSV/XLSX) against the marketplace rules",
        description="Check every row, main image and needed certificate of a catalog export before it is "
        "pushed. Prints a table of findings (or JSON with --json).",
    )
    p.add_argument("export", metavar="EXPORT", help="export file: path or ObjectStoragePath URL (CSV or XLSX)")
    p.add_argument("--images-dir", metavar="D", help="folder that relative main_image paths are resolved against")
    p.add_argument("--certs-dir", metavar="D", help="folder of certificate PDFs (enables CERT-MISSING)")
    _add_as_of(p)
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.validate", "validate_command"))

    p = sub.add_parser(
        "certs",
        help="check a folder of certificate PDFs and compliance documents (names, contents, validity, expiry)",
        description="Check every <Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf in DIR (certificates such as CE, CPC, "
        "FCC; brand authorisations BrandAuth and category admissions CategoryAdmission): name, readability, "
        "agreement of the PDF text with the name, CE validity, expiry, and a changed issuer against the same "
        "brand's earlier file of the type (a warning: the upload waits for a person's approval).",
    )
    p.add_argument("dir", metavar="DIR", help="folder holding certificate and document PDFs")
    _add_as_of(p)
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.certs", "certs_command"))

    p = sub.add_parser(
        "logo",
        help="check a store logo file (PNG, at least 800x800, no text over it)",
        description="Check a new store logo against the logo rules: PNG and at least 800x800 px (errors), and "
        "text over it read by the text detector (LOGO-TEXT, a warning: a person confirms it; until then the logo "
        "does not count for the quarter's rotation).",
    )
    p.add_argument("file", metavar="FILE", help="the logo image")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.logo", "logo_command"))

    p = sub.add_parser(
        "simulator",
        help="run the local AliExpress Open Platform simulator (HTTP)",
        description="Serve the /sync and /rest protocols, storefront pages and a health figure on loopback, "
        "with state kept in a file so several processes share it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("AEOPS_SIMULATOR_PORT", "8765")),
                   help="port (default: $AEOPS_SIMULATOR_PORT or 8765)")
    p.add_argument("--state", metavar="FILE", help="state file (default: aeops-sim-state.json in the cwd)")
    p.add_argument("--seed-from", metavar="EXPORT", help="seed the catalog from a catalog export")
    p.add_argument("--images-dir", metavar="D",
                   help="folder the export's main_image names resolve against when seeding; the images go into "
                   "the photobank (default: the export's folder)")
    p.add_argument("--faults", metavar="SPEC",
                   help="fault injection and settings, e.g. throttle=0.1,item_fail=0.05,server_error=0.02,"
                   "lost_response=0.01,stale_site=0.05,propagation_s=2,latency_ms=120,qps=20,seed=7,review_s=5,"
                   "qualification_s=5,platform_tz=Asia/Shanghai; review_skip=0.1 leaves that share of main-image "
                   "edits never reviewed (assumed); antibot=0.3 or antibot_site=ru answer item pages with the "
                   "anti-bot (punish) page")
    p.add_argument("--profile", choices=("rich", "documented"),
                   default=os.environ.get("AEOPS_SIMULATOR_PROFILE") or "rich",
                   help="rich: also the simulator's assumed fields (standing, review reason, page times, completion "
                   "rate, store-page banners and response time); documented: only what the platform documents, and "
                   "tokens that expire after its documented lifetimes (default: $AEOPS_SIMULATOR_PROFILE or rich)")
    p.add_argument("--token-ttl-s", type=float, metavar="S",
                   help="access tokens live S seconds (refresh tokens twice that unless --refresh-token-ttl-s); "
                   "tokens already in the state are cut to it (for tests)")
    p.add_argument("--refresh-token-ttl-s", type=float, metavar="S", help="refresh tokens live S seconds")
    p.set_defaults(func=_handler("aeops.commands.simulator", "simulator_command"))

    p = sub.add_parser(
        "slack-sink",
        help="run a local stand-in for the Slack Web API that records every message",
        description="Answer chat.postMessage, chat.update and thread replies like Slack does and append each "
        "request as one JSON line to --out. Point the slack_api_default connection's base_url at it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("AEOPS_SLACK_SINK_PORT", "8766")),
                   help="port (default: $AEOPS_SLACK_SINK_PORT or 8766)")
    p.add_argument("--out", metavar="FILE.jsonl", default="slack-sink.jsonl", help="where requests are recorded")
    p.set_defaults(func=_handler("aeops.commands.slack_sink", "slack_sink_command"))

    p = sub.add_parser(
        "db",
        help="create or upgrade the aeops database schema; re-encrypt its tokens",
        description="Manage the aeops database at $AEOPS_DATABASE_URL, else the Airflow connection aeops_db, else "
        "the aeops_config database_url, else SQLite aeops.db in $AIRFLOW_HOME. Upgrades never drop data.",
    )
    p.add_argument("action", choices=["upgrade", "current", "rotate-tokens"],
                   help="upgrade: apply pending migrations; current: print the schema revision; rotate-tokens: "
                   "re-encrypt the stored marketplace tokens under the first key of $AEOPS_FERNET_KEY (or Airflow's "
                   "fernet_key) after a new key was put in front")
    p.set_defaults(func=_handler("aeops.commands.db", "db_command"))

    p = sub.add_parser(
        "slack",
        help="the Slack outbox: list waiting messages, deliver them now, drop one",
        description="list: what waits in the Slack outbox and whether Slack refuses the bot token (blocked); "
        "flush: deliver everything now, ignoring back-offs (after fixing Slack or the slack_api_default token); "
        "drop ID: take one message out of the queue for good (kept, marked dropped with who and why). "
        "Exit code of flush: 1 when messages still wait.",
    )
    p.add_argument("action", choices=["list", "flush", "drop"])
    p.add_argument("id", nargs="?", type=int, metavar="ID", help="drop: the message id shown by list")
    p.add_argument("--all", action="store_true", help="list: also the newest delivered, folded and dropped messages")
    p.add_argument("--reason", metavar="TEXT", help="drop: why (recorded)")
    p.add_argument("--json", action="store_true", help="list: one JSON document")
    p.set_defaults(func=_handler("aeops.commands.slack", "slack_command"))

    p = sub.add_parser(
        "lock",
        help="the per-store write locks: show them and their waiters, release one by force",
        description="show [STORE]: locks held now, tasks waiting for them (in reschedule mode: no worker slot "
        "held) and the last forced releases. release STORE --force --reason TEXT: free a store whoever holds it "
        "(a stuck or dead holder); who (user@host) and why are recorded.",
    )
    p.add_argument("action", choices=["show", "release"])
    p.add_argument("store", nargs="?", metavar="STORE", help="the store (release: required)")
    p.add_argument("--force", action="store_true", help="release: yes, free it even though someone holds it")
    p.add_argument("--reason", metavar="TEXT", help="release: why (recorded with your name)")
    p.set_defaults(func=_handler("aeops.commands.lock", "lock_command"))

    p = sub.add_parser(
        "planned",
        help="list the planned price overrides: when each starts and ends, its approval and phase",
        description="Urgent price overrides with a start time (trigger param start_at), newest first: start and "
        "end (UTC), the approval (waiting, approved, rejected, timed out, not needed) and the phase (waiting for "
        "its start, started, ended, cancelled), with the Airflow run id.",
    )
    p.add_argument("store", nargs="?", metavar="STORE", help="only this store")
    p.add_argument("--json", action="store_true", help="one JSON document")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.planned", "planned_command"))

    p = sub.add_parser(
        "store",
        help="add a store in one step: settings, connection check, dry run",
        description="add NAME --conn-id ID: write the store into aeops_config after checking its connection against "
        "the marketplace (credentials, token, documented standing), its folders and schedules; then a dry run prints "
        "what its first daily run will change, and its DAGs (aliexpress_catalog_sync__NAME ...) with their next run. "
        "Exit 1 on problems (one line each; nothing written unless --force).",
    )
    p.add_argument("action", choices=["add"])
    p.add_argument("name", metavar="NAME", help="the store's short unique name (DAG ids: <dag_id>__NAME)")
    p.add_argument("--conn-id", required=True, metavar="ID", help="the Airflow connection of the store's app and "
                   "tokens (type aliexpress)")
    p.add_argument("--like", metavar="STORE", help="copy another store's settings (not its name, connection, "
                   "exports, reports, store number or name, schedules)")
    p.add_argument("--timezone", metavar="TZ", help="the store's time zone (IANA; default Asia/Shanghai)")
    p.add_argument("--language", choices=["zh-CN", "en"], help="the store's language (default zh-CN)")
    p.add_argument("--exports", metavar="LOC", help="folder of the ERP's catalog exports (path or URL)")
    p.add_argument("--images-dir", metavar="D", help="folder relative main_image paths resolve against")
    p.add_argument("--certs", metavar="LOC", help="folder of certificate PDFs")
    p.add_argument("--logo", metavar="LOC", help="folder where a new store logo is dropped")
    p.add_argument("--reports", metavar="LOC", help="folder for run reports")
    p.add_argument("--sync-at", metavar="CRON", help="the daily sync's cron in the store's time zone (default "
                   "$AEOPS_SYNC_CRON, else 0 2 * * *)")
    p.add_argument("--alerts-channel", metavar="C", help="Slack channel for the store's failures and warnings")
    p.add_argument("--reports-channel", metavar="C", help="Slack channel for the store's run summaries")
    p.add_argument("--merchant-type", choices=["enterprise", "individual"],
                   help="the account's verification as the seller center shows it (the API does not say)")
    p.add_argument("--standing-checked-on", metavar="YYYY-MM-DD",
                   help="the day a person checked the account's standing in the seller center")
    p.add_argument("--store-num", type=int, metavar="N", help="the store number of its storefront URL")
    p.add_argument("--store-name", metavar="TEXT", help="the store name the storefront must show")
    p.add_argument("--config-file", metavar="FILE", help="write this aeops_config file (default: $AEOPS_CONFIG's "
                   "file, else the Airflow Variable aeops_config)")
    p.add_argument("--force", action="store_true", help="write the store even when a check found problems")
    p.add_argument("--no-dry-run", action="store_true", help="skip the dry run")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.store", "store_add_command"))

    p = sub.add_parser(
        "doctor",
        help="check the whole deployment; one line per problem with what to fix",
        description="Check aeops_config, the aeops DB schema, the Fernet key, the Slack token, the pools, and per "
        "store its connection, token and documented standing (asked of the marketplace), folders, schedules and "
        "paused DAGs. Prints one line per problem with what to fix. Exit 0: no problem; 1: problems.",
    )
    p.add_argument("--store", dest="stores", action="append", metavar="NAME", help="only this store (repeatable)")
    p.add_argument("--offline", action="store_true", help="do not ask the marketplace or Slack")
    p.add_argument("--config-file", metavar="FILE", help="check this aeops_config file")
    _add_lang(p)
    p.set_defaults(func=_handler("aeops.commands.doctor", "doctor_command"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aeops`` with ``argv``; returns the exit code (0 checked, 1 findings block, 2 could not check)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_CANNOT_CHECK

    configure_cli_logging(args.verbose)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        if os.environ.get("AEOPS_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc} (set AEOPS_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_CANNOT_CHECK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
