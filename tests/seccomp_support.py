"""The unit's system call filter, applied for real to a child process (libseccomp).

systemd is not PID 1 in CI, so the unit cannot be started there; its filter can still be
reproduced exactly: ``systemd-analyze syscall-filter`` names the system calls of each
group the unit lists, and libseccomp installs the same allow-list (with the same errno)
and the same address family restriction in a child before it runs. Only this one piece of
the unit's hardening is reproduced here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import socket
import subprocess
from collections.abc import Callable, Iterable

_ACT_ALLOW = 0x7FFF0000
_CMP_EQ = 4


def _act_errno(code: int) -> int:
    return 0x00050000 | (code & 0x0000FFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = (
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    )


@functools.cache
def expand(analyzer: str, item: str) -> frozenset[str]:
    """The system calls ``item`` names: a group (``@system-service``) expanded, recursively."""
    if not item.startswith("@"):
        return frozenset({item})
    out = subprocess.run(
        [analyzer, "syscall-filter", item], capture_output=True, text=True, check=True
    ).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word and not word.startswith("#"):
            names |= expand(analyzer, word)
    return frozenset(names)


def unit_filter(analyzer: str, unit_text: str) -> tuple[frozenset[str], list[int], int]:
    """The allowed system calls, address families and errno that ``unit_text`` sets."""
    allowed: set[str] = set()
    families: list[int] = []
    code = errno.EPERM
    for line in unit_text.splitlines():
        key, _, value = line.partition("=")
        if key == "SystemCallFilter":
            if value.startswith("~"):
                for item in value[1:].split():
                    allowed -= expand(analyzer, item)
            else:
                for item in value.split():
                    allowed |= expand(analyzer, item)
        elif key == "RestrictAddressFamilies":
            families = [int(getattr(socket, name)) for name in value.split()]
        elif key == "SystemCallErrorNumber":
            code = int(getattr(errno, value))
    return frozenset(allowed), families, code


def confine(allowed: Iterable[str], families: list[int], code: int) -> Callable[[], None]:
    """A ``preexec_fn`` that installs the filter in the child, as systemd would."""
    names = sorted(allowed)

    def apply() -> None:
        lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
        lib.seccomp_rule_add_array.argtypes = (
            ctypes.c_void_p,
            ctypes.c_uint32,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.POINTER(_ArgCmp),
        )
        ctx = ctypes.c_void_p(lib.seccomp_init(_act_errno(code)))
        socket_nr = lib.seccomp_syscall_resolve_name(b"socket")
        for name in names:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0 or (number == socket_nr and families):
                continue
            lib.seccomp_rule_add_array(ctx, _ACT_ALLOW, number, 0, None)
        for family in range(64):
            # RestrictAddressFamilies: other families fail with EAFNOSUPPORT
            action = _ACT_ALLOW if family in families else _act_errno(errno.EAFNOSUPPORT)
            compare = (_ArgCmp * 1)(_ArgCmp(0, _CMP_EQ, family, 0))
            lib.seccomp_rule_add_array(ctx, action, socket_nr, 1, compare)
        if lib.seccomp_load(ctx) != 0:
            os._exit(97)

    return apply
