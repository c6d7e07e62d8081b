"""Command line: ``trunkline run``, ``trunkline parse``, ``trunkline version``."""

from __future__ import annotations

import argparse
import sys

from trunkline import __version__
from trunkline.sip.scanner import COMPILED


def _cmd_parse(args: argparse.Namespace) -> int:
    """Parse SIP messages from files (or stdin) and say what the parser makes of each."""
    from trunkline.sip.errors import ParseError
    from trunkline.sip.message import Request
    from trunkline.sip.parser import parse_message

    paths = args.files or ["-"]
    status = 0
    for path in paths:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
        try:
            msg = parse_message(data)
            if isinstance(msg, Request):
                msg.validate()
        except ParseError as exc:
            print(f"{path}: {exc.status} {exc.reason}: {exc.detail}")
            status = 1
            continue
        kind = msg.method if isinstance(msg, Request) else f"{msg.status} response"
        print(f"{path}: valid {kind}, Call-ID {msg.call_id}, {len(msg.body)} body bytes")
    return status


def _cmd_run(args: argparse.Namespace) -> int:
    from trunkline.config import ConfigError, load_config
    from trunkline.server import run

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"trunkline: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config or 'embedded defaults'}: ok")
        return 0
    return run(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trunkline", description="SIP trunking SBC")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("version", help="print the version")
    p_run = sub.add_parser("run", help="run the SIP server (embedded defaults without -c)")
    p_run.add_argument("-c", "--config", help="YAML configuration file")
    p_run.add_argument("--check", action="store_true", help="validate the config and exit")
    p_parse = sub.add_parser("parse", help="check SIP messages with the Trunkline parser")
    p_parse.add_argument("files", nargs="*", help="files holding one message each (- = stdin)")
    args = parser.parse_args(argv)
    if args.command == "parse":
        return _cmd_parse(args)
    if args.command == "run":
        return _cmd_run(args)
    core = "compiled with mypyc" if COMPILED else "plain Python (run scripts/compile-core)"
    print(f"trunkline {__version__}, SIP core {core}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
