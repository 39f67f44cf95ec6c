"""``kiosk server user``: console accounts for reviewers, coordinators and admins.

    kiosk server --config F user add NAME --role reviewer|coordinator|admin
    kiosk server --config F user disable NAME
    kiosk server --config F user list

The password is asked twice on a terminal, or read as the first line of
standard input (``printf '%s\\n' "$PW" | kiosk server user add ...``); it is
never taken from the command line, where other users of the machine could
read it in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from kiosk.server.accounts import ROLES, AccountError, Accounts
from kiosk.text import bilingual


def add_arguments(sub: argparse._SubParsersAction, config_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``user`` action and its operations."""
    u = sub.add_parser("user", help="console accounts (reviewers, coordinators, admins)")
    config_option(u)
    ops = u.add_subparsers(dest="user_op", metavar="OP", required=True)
    add = ops.add_parser("add", help="create an account (password from a prompt or standard input)")
    config_option(add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    off = ops.add_parser("disable", help="disable an account and end its sessions")
    config_option(off)
    off.add_argument("name")
    lst = ops.add_parser("list", help="list the accounts")
    config_option(lst)


def read_password(stdin: TextIO | None = None) -> str:
    """The new password: asked twice on a terminal, else the first line of ``stdin`` (the process's)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("密码 / Password: ")
        if getpass.getpass("再次输入 / Again: ") != first:
            raise AccountError("console.password.mismatch", detail="passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def run(accounts: Accounts, args: argparse.Namespace, now: datetime, stdin: TextIO | None = None) -> int:
    """Run ``kiosk server user OP``; the exit status."""
    try:
        if args.user_op == "add":
            user = accounts.add(args.name, args.role, read_password(stdin), now)
            print(f"{user.name}: added ({user.role})")
            return 0
        if args.user_op == "disable":
            if not accounts.disable(args.name, now):
                print(bilingual("console.user.unknown", name=args.name), file=sys.stderr)
                return 1
            print(f"{args.name}: disabled")
            return 0
        for user, enabled in accounts.list():
            print(f"{user.name}\t{user.role}\t{'enabled' if enabled else 'disabled'}")
        return 0
    except AccountError as exc:
        print(exc.bilingual(), file=sys.stderr)
        return 2
