"""``aeops simulator``: serve the local AliExpress Open Platform simulator until interrupted."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from aeops.errors import CommandError
from aeops.exports import read_export
from aeops.marketplace.simulator.app import create_app
from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.profiles import make_profile
from aeops.marketplace.simulator.state import SimState
from aeops.secrets import get_logger

log = get_logger(__name__)


def seed_from_export(state: SimState, location: str, **kw: object) -> int:
    """Load the simulator's catalog from a catalog export (read like the sync reads it); its main images go into
    the photobank (``images_dir``, default: the export's folder when it is a local file)."""

    export = read_export(location)
    if not export.readable:
        raise ValueError("; ".join(f"{f.code}: {f.message}" for f in export.findings) or "unreadable")
    if kw.get("images_dir") is None and "://" not in location:
        kw["images_dir"] = str(Path(location).expanduser().resolve().parent)
    return state.seed_frame(export.frame, **kw)


def simulator_command(args: argparse.Namespace) -> int:
    """``aeops simulator``: serve until interrupted."""
    try:
        faults = Faults.parse(args.faults)
    except ValueError as exc:
        raise CommandError(f"--faults: {exc}") from None
    try:
        profile = make_profile(getattr(args, "profile", None), token_ttl_s=getattr(args, "token_ttl_s", None),
                               refresh_token_ttl_s=getattr(args, "refresh_token_ttl_s", None))
    except ValueError as exc:
        raise CommandError(f"--profile: {exc}") from None
    state_path = Path(args.state or os.environ.get("AEOPS_SIMULATOR_STATE") or "aeops-sim-state.json")
    try:
        state = SimState(state_path)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot use state file {state_path}: {exc}") from None
    if args.seed_from:
        try:
            count = seed_from_export(state, args.seed_from, images_dir=getattr(args, "images_dir", None))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot seed from {args.seed_from}: {exc}") from None
        log.info("seeded %d products from %s", count, args.seed_from)
    import uvicorn  # lazy: only the simulator server needs uvicorn

    public_url = f"http://{args.host}:{args.port}"
    log.info("simulator on %s (state %s, faults %s, profile %s)", public_url, state_path, args.faults or "none",
             profile.describe())
    uvicorn.run(create_app(state, faults, public_url=public_url, profile=profile), host=args.host, port=args.port,
                log_level="warning")
    return 0
