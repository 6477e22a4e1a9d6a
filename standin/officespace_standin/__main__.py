"""``python -m officespace_standin --host 127.0.0.1 --port 3001 --idp http://127.0.0.1:3000``"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from .server import start_standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="officespace_standin",
                                     description="Local OfficeSpace stand-in: a strict SAML SP page and a SCIM 2.0 server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("STANDIN_PORT", "3001")))
    parser.add_argument("--idp", default="http://127.0.0.1:3000", help="IdP base URL (metadata at /saml2/<app>/metadata)")
    parser.add_argument("--app", default="officespace", help="IdP app slug")
    parser.add_argument("--scim-token", default=os.environ.get("STANDIN_SCIM_TOKEN"),
                        help="SCIM bearer token (default: random, printed)")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")

    handle = start_standin(args.host, args.port, args.idp, app_slug=args.app, scim_token=args.scim_token)
    print(f"OfficeSpace stand-in      {handle.base_url}/", flush=True)
    print(f"  SP entity ID            {handle.sp_entity_id}")
    print(f"  ACS (sign-on) URL       {handle.acs_url}")
    print(f"  IdP metadata            {handle.metadata_url}")
    print(f"  SCIM base URL           {handle.scim_base_url}")
    print(f"  SCIM bearer token       {handle.scim_token}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    handle.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
