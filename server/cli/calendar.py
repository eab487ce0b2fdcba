"""``flask calendar show|import|status``: the statutory calendar (holidays, 调休上班日)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import AppGroup

from server.api.calendar import MAX_YEAR, today
from server.domain.worktime import PACKAGE_YEARS, CalendarInputError
from server.extensions import db
from server.usecases import calendar as uc

group = AppGroup("calendar", help="法定节假日与调休 / the statutory holiday calendar")

YEAR = click.IntRange(PACKAGE_YEARS.start, MAX_YEAR)


@group.command("show")
@click.argument("year", type=YEAR)
def show(year: int) -> None:
    """Print a year's holidays and adjusted working days, and where they come from."""
    view = uc.year_view(db(), year)
    source = {"database": "entered by an admin", "package": "chinesecalendar package"}
    click.echo(f"{year}: {source.get(view['source'], 'UNKNOWN (Mon-Fri are counted as workdays)')}")
    if view["updated_at"]:
        click.echo(f"  last changed {view['updated_at']} by {view['updated_by']}")
    for e in view["holidays"]:
        click.echo(f"  {e['date']}  holiday  {e['name']}")
    for e in view["workdays"]:
        click.echo(f"  {e['date']}  workday  {e['name']}")


@group.command("import")
@click.argument("year", type=YEAR)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", required=True, help="why (e.g. the State Council notice number)")
@click.option("--by", "by", default="", help="who is importing (default: the OS user)")
def import_(year: int, file: Path, reason: str, by: str) -> None:
    """Enter YEAR from FILE (CSV with header date,kind,name, or JSON [{date, kind, name}]);
    replaces the package's data (or an earlier entry) for that year and records the change."""
    who = by.strip() or f"cli:{getpass.getuser()}"
    try:
        days = uc.parse_file(file.name, file.read_bytes())
        view = uc.replace_year(db(), year, days, reason=reason, actor_name=who, action="import")
    except CalendarInputError as err:
        for field, message in err.problems.items():
            click.echo(f"{field}: {message}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(
        f"{year}: {len(view['holidays'])} holidays and {len(view['workdays'])} adjusted "
        f"working days entered"
    )


@group.command("status")
def status() -> None:
    """Warnings about unknown years (exit status 1 when there are some), for cron jobs."""
    warnings = uc.statutory_for(db()).warnings(today())
    for w in warnings:
        click.echo(w)
    if not warnings:
        click.echo("calendar: ok")
    raise click.exceptions.Exit(1 if warnings else 0)
