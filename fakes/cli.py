"""Argument checks the standalone servers share: a port is 0-65535 and free before anything starts."""

from __future__ import annotations

import argparse
import socket


def port(text: str) -> int:
    """An argparse type: a TCP port number (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number; give 0-65535") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number; give 0-65535 (0: any free port)")
    return value


def check_free(parser: argparse.ArgumentParser, host: str, port_number: int) -> None:
    """parser.error (one line, exit 2) when host:port cannot be bound, before a server starts."""
    if port_number == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port_number, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        parser.error(f"--host {host}: cannot be resolved ({exc.strerror})")
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            parser.error(f"--port {port_number}: cannot listen on {host}:{port_number} ({exc.strerror}); "
                         "stop what uses it or pick another port (0: any free port)")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `prog: error: what; see --help`, exit 2 (no usage block)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
