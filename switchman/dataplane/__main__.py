"""``python -m switchman.dataplane --home H --host 127.0.0.1 --port P [--public-host D]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from switchman.dataplane.guard import (
    DEFAULT_HEAD_BYTES,
    DEFAULT_HEADER_COUNT,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_KEEP_ALIVE_TIMEOUT_S,
    HeadLimits,
)
from switchman.dataplane.protocol import DEFAULT_BODY_LIMIT
from switchman.dataplane.server import RouterConfig, run
from switchman.home import Home


def _positive(kind: type[float] | type[int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m switchman.dataplane", description="The Switchman router."
    )
    parser.add_argument(
        "--home", required=True, help="SWITCHMAN_HOME to serve (routes.json, state.db)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=0, help="Port to listen on (0 picks one).")
    parser.add_argument(
        "--public-host", help="Domain for Host-header routing (<endpoint>.<domain>)."
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive(int),
        default=DEFAULT_BODY_LIMIT,
        help="Larger bodies get 413.",
    )
    parser.add_argument(
        "--retention-days",
        type=_positive(float),
        default=7.0,
        help="Traffic-log and metric retention.",
    )
    parser.add_argument(
        "--metrics-interval",
        type=_positive(float),
        # The environment variable lets `switchman up` (and tests) choose it without a flag.
        default=float(os.environ.get("SWITCHMAN_METRICS_INTERVAL", "60")),
        help="Seconds per metrics roll-up (default $SWITCHMAN_METRICS_INTERVAL or 60).",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_positive(float),
        default=10.0,
        help="Seconds to finish in-flight requests on SIGTERM.",
    )
    parser.add_argument(
        "--max-mirror-in-flight",
        type=_positive(int),
        default=64,
        help="Mirror copies in flight at most.",
    )
    parser.add_argument(
        "--max-header-bytes",
        type=_positive(int),
        default=DEFAULT_HEAD_BYTES,
        help="Request line + headers larger than this get 431.",
    )
    parser.add_argument(
        "--max-headers",
        type=_positive(int),
        default=DEFAULT_HEADER_COUNT,
        help="More header fields than this get 431.",
    )
    parser.add_argument(
        "--header-timeout",
        type=_positive(float),
        default=DEFAULT_HEADER_TIMEOUT_S,
        help="Seconds a client may take to send a request head (then 408 and close).",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=_positive(float),
        default=DEFAULT_KEEP_ALIVE_TIMEOUT_S,
        help="Seconds an idle keep-alive connection stays open.",
    )
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS (with --tls-key).")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert.")
    parser.add_argument(
        "--private-range",
        action="append",
        default=[],
        metavar="CIDR",
        help="Besides loopback, clients here reach public_network_access: disabled endpoints.",
    )
    args = parser.parse_args(argv)
    from switchman.dataplane.inbound import parse_ranges

    try:
        parse_ranges(args.private_range)
    except ValueError as exc:
        parser.error(str(exc))
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_cert:
        from switchman.errors import BadArgumentError
        from switchman.tls import check_pair

        try:
            check_pair(Path(args.tls_cert), Path(args.tls_key))
        except BadArgumentError as exc:
            print(f"ERROR: {exc.message}", file=sys.stderr)
            return 2
    config = RouterConfig(
        home=Home.from_env(args.home),
        host=args.host,
        port=args.port,
        public_host=args.public_host,
        body_limit=args.max_body_bytes,
        retention_s=args.retention_days * 86400,
        metrics_interval=args.metrics_interval,
        drain_timeout=args.drain_timeout,
        max_mirror_in_flight=args.max_mirror_in_flight,
        limits=HeadLimits(
            head_bytes=args.max_header_bytes,
            header_count=args.max_headers,
            header_timeout_s=args.header_timeout,
            keep_alive_timeout_s=args.keep_alive_timeout,
        ),
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        private_ranges=tuple(args.private_range),
    )
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
