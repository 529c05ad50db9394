"""CLI: python -m icr_emulator [options]; runs until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from typing import Any, Sequence

from .emulator import Emulator
from .fixture import FixtureError


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(prog="python -m icr_emulator", description=__doc__)
    parser.add_argument("--fixture", help="fixture JSON file (default: fixtures/default.json)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--issuer", default="icr-emulator", help="registry token issuer")
    parser.add_argument("--service", default="registry", help="registry token service / audience")
    parser.add_argument("--region", default="us-south", help="IAM region whose policies the realm honours")
    parser.add_argument("--state-dir", help="where the signing keys and the registry certificate live (kept between runs)")
    parser.add_argument("--ready-file", help="written atomically as JSON {url, pid, registry_cert} once serving")
    parser.add_argument("--bad-credential-status", type=int, default=400, help="HTTP status of the realm for invalid credentials")
    parser.add_argument("--access-token-lifetime", type=int, default=3600)
    parser.add_argument("--refresh-token-lifetime", type=int, default=259200)
    parser.add_argument("--registry-token-lifetime", type=int, default=300)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE",
                        help="a switch for what IBM leaves open (README: Variants), e.g. token_style=opaque; "
                             "VALUE is read as JSON when it parses, else as a string")
    parser.add_argument("--registry-upstream", help="forward allowed /v2/ requests to the real registry at this URL")
    parser.add_argument("--quiet", action="store_true", help="no request log")
    return parser


def write_ready_file(path: str, data: dict[str, Any]) -> None:
    """Write JSON to path atomically (temp file in the same directory, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ready-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until a signal; return the exit status."""
    args = build_parser().parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("icr-emulator: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    variants = {}
    for item in args.variant:
        name, sep, raw = item.partition("=")
        if not sep:
            print(f"icr-emulator: --variant {item!r} is not NAME=VALUE", file=sys.stderr)
            return 2
        try:
            variants[name] = json.loads(raw)
        except ValueError:
            variants[name] = raw
    try:
        emu = Emulator(fixture=args.fixture, host=args.host, port=args.port, tls_cert=args.tls_cert, tls_key=args.tls_key,
                       registry_issuer=args.issuer, registry_service=args.service, region=args.region,
                       access_token_lifetime=args.access_token_lifetime, refresh_token_lifetime=args.refresh_token_lifetime,
                       registry_token_lifetime=args.registry_token_lifetime, state_dir=args.state_dir,
                       bad_credential_status=args.bad_credential_status, log_stream=None if args.quiet else sys.stderr,
                       variants=variants, registry_upstream=args.registry_upstream)
    except (FixtureError, ValueError) as exc:
        print(f"icr-emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emu.start()
    try:
        if args.ready_file:
            write_ready_file(args.ready_file, {"url": emu.url, "pid": os.getpid(), "registry_cert": emu.registry_cert_path})
        print(f"icr-emulator: serving {emu.url} (pid {os.getpid()})", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
        if args.ready_file and os.path.exists(args.ready_file):
            os.unlink(args.ready_file)
    print("icr-emulator: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
