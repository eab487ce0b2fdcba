"""``flask users create|list|disable|enable|passwd``: the same use cases (and so the same
rules) as the admin API (server/usecases/admin/users.py): a dispatcher or supervisor needs a region,
a handler a department, passwords their minimum length, and the last active admin cannot be
disabled. The command line acts as an administrator."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from server.domain import workflow as wf
from server.domain.workflow import ROLE_NAMES as ROLES
from server.extensions import db
from server.models import DUTIES, Department, User
from server.usecases.admin import users as uc_users
from server.usecases.context import Actor, Context
from server.usecases.errors import UseCaseError

group = AppGroup("users", help="用户管理 / manage users")

#: Who the use cases see acting: an administrator at the server's command line.
CLI_ACTOR = Actor(id=None, role=wf.Role.ADMIN, display_name="command line")


def _context() -> Context:
    return Context(db=db())


def _fail(exc: UseCaseError) -> click.ClickException:
    """The use case's refusal as a command-line error: its message and each field's problem."""
    lines = [f"错误 / error: {exc.message}"]
    lines += [f"  {field}: {problem}" for field, problem in sorted(exc.fields.items())]
    return click.ClickException("\n".join(lines))


def _user(username: str) -> User:
    user = db().scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _duties(specs: tuple[str, ...]) -> list[dict[str, str]]:
    duties = []
    for spec in specs:
        code, _, duty = spec.partition(":")
        duties.append({"grid_code": code.strip(), "duty": duty.strip() or "full_time"})
    return duties


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
    """Create a user (nothing is created when any part is refused)."""
    ctx = _context()
    body: dict[str, Any] = {"username": username, "role": role, "password": password}
    if display_name:
        body["display_name"] = display_name
    if region:
        body["region_code"] = region
    if phone:
        body["phone"] = phone
    if department:
        dep = ctx.db.scalar(select(Department).where(Department.code == department))
        if dep is None:
            raise click.BadParameter(
                f"no department with code {department}", param_hint="--department"
            )
        body["department_id"] = dep.id
    try:
        user = uc_users.create_user(ctx, CLI_ACTOR, body)
    except UseCaseError as exc:
        raise _fail(exc) from None
    if grids:
        try:
            uc_users.set_duties(ctx, CLI_ACTOR, user["id"], {"duties": _duties(grids)})
        except UseCaseError as exc:
            ctx.db.rollback()
            created = ctx.db.get(User, user["id"])
            if created is not None:  # the user was stored a moment ago: take it back
                ctx.db.delete(created)
                ctx.db.commit()
            raise _fail(exc) from None
    click.echo(f"created {role} {username} (id {user['id']})")


@group.command("list")
def list_users() -> None:
    """List users."""
    for u in db().scalars(select(User).order_by(User.id)):
        state = "" if u.active else " (disabled)"
        click.echo(f"{u.id:5d}  {u.username:20s} {u.role:12s} {u.display_name}{state}")


def _update(username: str, body: dict[str, Any]) -> uc_users.UserUpdate:
    try:
        return uc_users.update_user(_context(), CLI_ACTOR, _user(username).id, body)
    except UseCaseError as exc:
        raise _fail(exc) from None


@group.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable a user and end their sessions (never the last active admin)."""
    _update(username, {"active": False})
    click.echo(f"{username} disabled")


@group.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled user."""
    _update(username, {"active": True})
    click.echo(f"{username} enabled")


@group.command("passwd")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def passwd(username: str, password: str) -> None:
    """Set a user's password (ends their sessions)."""
    _update(username, {"password": password})
    click.echo(f"password of {username} changed")
