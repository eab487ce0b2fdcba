"""``flask users create|list|disable|enable|passwd``."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from server.extensions import db
from server.models import DUTIES, ROLES, Department, GridAssignment, Region, User
from server.security import hash_password

group = AppGroup("users", help="用户管理 / manage users")


def _region(code: str | None) -> Region | None:
    if not code:
        return None
    region = db().scalar(select(Region).where(Region.code == code.ljust(12, "0")))
    if region is None:
        raise click.BadParameter(f"no region with code {code}", param_hint="--region")
    return region


def _department(code: str | None) -> Department | None:
    if not code:
        return None
    dep = db().scalar(select(Department).where(Department.code == code))
    if dep is None:
        raise click.BadParameter(f"no department with code {code}", param_hint="--department")
    return dep


@group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="", help="display name, e.g. 张三")
@click.option("--region", help="jurisdiction region code (6, 9 or 12 digits)")
@click.option("--department", help="department code (handlers)")
@click.option("--phone", default="")
@click.option(
    "--grid",
    "grids",
    multiple=True,
    help="grid duty as CODE or CODE:DUTY (duty: " + ", ".join(DUTIES) + "); repeatable",
)
def create(
    username: str,
    role: str,
    password: str,
    display_name: str,
    region: str | None,
    department: str | None,
    phone: str,
    grids: tuple[str, ...],
) -> None:
    """Create a user."""
    session = db()
    if session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists already")
    try:
        pw_hash = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    dep = _department(department)
    if role == "handler" and dep is None:
        raise click.BadParameter("a handler needs --department", param_hint="--department")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=pw_hash,
        role=role,
        region=_region(region),
        department=dep,
        phone=phone,
    )
    for spec in grids:
        code, _, duty = spec.partition(":")
        duty = duty or "full_time"
        if duty not in DUTIES or len(code) != 15 or not code.isdigit():
            raise click.BadParameter(f"bad grid duty {spec!r}", param_hint="--grid")
        user.assignments.append(GridAssignment(grid_code=code, duty=duty))
    session.add(user)
    session.commit()
    click.echo(f"created {role} {username} (id {user.id})")


@group.command("list")
def list_users() -> None:
    """List users."""
    for u in db().scalars(select(User).order_by(User.id)):
        state = "" if u.active else " (disabled)"
        click.echo(f"{u.id:5d}  {u.username:20s} {u.role:12s} {u.display_name}{state}")


def _set_active(username: str, active: bool) -> None:
    session = db()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    user.active = active
    user.session_epoch += 1
    session.commit()
    click.echo(f"{username} {'enabled' if active else 'disabled'}")


@group.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable a user and end their sessions."""
    _set_active(username, False)


@group.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled user."""
    _set_active(username, True)


@group.command("passwd")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def passwd(username: str, password: str) -> None:
    """Set a user's password (ends their other sessions)."""
    session = db()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    try:
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    user.session_epoch += 1
    session.commit()
    click.echo(f"password of {username} changed")
