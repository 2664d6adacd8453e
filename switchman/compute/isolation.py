"""The outbound toggle: ``egress_public_network_access: disabled`` runs an instance in a network
namespace of its own, with only a loopback interface inside, so its code can open no connection to
anything — not the internet, not this machine's other services. The router reaches it through a
Unix socket in the instance folder (pathname sockets do not belong to a network namespace).

Unprivileged: a user namespace (mapping the caller's own uid and gid) grants the right to create
the network namespace; no root, no setuid helper. The launcher calls :func:`isolate` after the
environment build (which needs the network) and before it execs the runtime.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import socket
import struct
import tempfile
from pathlib import Path

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40
SOCKET_NAME = "runtime.sock"
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path, less the terminating NUL


class IsolationError(Exception):
    """The kernel refused the namespaces; the message says why and what to do."""

    code = "BadArgument"


def refusal(err: int, sysctl_hint: str) -> str:
    """The one-paragraph error for a refused ``unshare`` (pure, for tests)."""
    why = os.strerror(err) if err else "unsupported"
    return (
        "egress_public_network_access: disabled needs unprivileged user and network namespaces, "
        f"and this kernel refused them ({why}). Allow them ({sysctl_hint}), run Switchman where "
        "they are allowed, or set egress_public_network_access: enabled on the deployment."
    )


def _sysctl_hint() -> str:
    clone = Path("/proc/sys/kernel/unprivileged_userns_clone")
    if clone.exists() and clone.read_text().strip() == "0":
        return "sysctl -w kernel.unprivileged_userns_clone=1"
    apparmor = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    if apparmor.exists() and apparmor.read_text().strip() == "1":
        return "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
    return "sysctl -w user.max_user_namespaces=15000"


def socket_path(folder: Path, instance_id: str) -> str:
    """Where the isolated runtime listens: the instance folder, or a short temp path when the
    folder's path is too long for a Unix socket address."""
    path = str(folder / SOCKET_NAME)
    if len(path.encode()) <= _SUN_PATH_MAX:
        return path
    digest = hashlib.sha256(path.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"switchman-{instance_id[:24]}-{digest}.sock")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def isolate() -> None:
    """Move this process into new user + network namespaces with loopback up.

    Raises:
        IsolationError: the kernel forbids it (the message names the fix).
    """
    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        raise IsolationError(refusal(ctypes.get_errno(), _sysctl_hint()))
    try:
        # keep our own identity inside: files we write stay ours outside
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags))
    except OSError as exc:
        raise IsolationError(refusal(exc.errno or errno.EPERM, _sysctl_hint())) from None


__all__ = ["IsolationError", "isolate", "refusal", "socket_path"]
