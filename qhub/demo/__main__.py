"""``python -m qhub.demo [--port N] [--cert F --key F]``: serve the demo API in the foreground."""

from __future__ import annotations

import argparse
import time

from qhub.demo.server import DemoServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m qhub.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", help="PEM certificate (serves HTTPS)")
    parser.add_argument("--key", help="PEM private key")
    args = parser.parse_args()
    server = DemoServer(port=args.port, certfile=args.cert, keyfile=args.key).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


main()
