"""``python -m openconnector.demo --port 8765 --records 500``: serve the demo source until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import sys

from openconnector.demo.server import DemoServer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m openconnector.demo", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--records", type=int, default=500, help="number of people served")
    ap.add_argument("--revision", type=int, default=0, help="each revision changes 10%% of the records")
    ap.add_argument("--warm", action="store_true", help="encode every record before listening")
    args = ap.parse_args(argv)
    server = DemoServer(args.host, args.port, records=args.records, revision=args.revision)
    if args.warm:
        server.warm()
    url = server.bind()
    print(f"demo REST source: {args.records} people at {url}/people (revision {args.revision})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
