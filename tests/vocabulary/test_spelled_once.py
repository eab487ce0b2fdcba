"""No state, action or role name is spelled as a string literal outside the domain.

The names come from the domain (:mod:`server.domain.workflow`); the server spells them as
``wf.State.CLOSED`` and the like, the apps as ``State.CLOSED`` from the generated
``webapp/src/shared/vocabulary.ts``, and labels come from ``/bootstrap``. Exempt: the domain, the
generated TypeScript, the frozen migrations and the tests.

A few strings are the same word in another vocabulary (a metric family named ``report``, an
Open311 status ``closed``, the outbox's ``report`` items, the blueprint and route ``admin``):
:data:`OTHER_VOCABULARIES` lists how many each file may hold and why. A file may hold fewer
(then lower its number), never more.
"""

from __future__ import annotations

import re
from pathlib import Path

from server.domain.workflow import Action, Role, State

ROOT = Path(__file__).resolve().parents[2]
NAMES = sorted({m.value for enum in (State, Action, Role) for m in enum}, key=len, reverse=True)
_ANY = "|".join(NAMES)
PY = re.compile(r"""(['"])(""" + _ANY + r""")\1""")
TS = re.compile(r"""(['"`])(""" + _ANY + r""")\1""")
EXEMPT = (
    "server/domain/",
    "webapp/src/shared/api-schema.ts",
    "webapp/src/shared/vocabulary.ts",
)

_METRICS = "metric families (report, reject, dispatch), measures (reported, closed…), modes (rate)"
_SCORECARD = "the scorecard kind dispatcher (server/domain/scorecards.py), the role's own card"
OTHER_VOCABULARIES: dict[str, tuple[int, str]] = {
    "server/metrics/fold.py": (24, "the fold's SQL: events' data keys and codes by name"),
    "server/metrics/families.py": (11, _METRICS),
    "server/metrics/drilldown.py": (8, _METRICS + ", outcome resolved"),
    "server/metrics/export.py": (8, _METRICS + "; the dispatcher scorecard's sheet names"),
    "server/api/metrics.py": (2, "the export's report parameter; the dispatcher scorecard"),
    "server/api/inputs.py": (1, "the report parameter's error code"),
    "server/metrics/assessment.py": (4, _METRICS + "; records of type accept/dispatch"),
    "server/metrics/scorecards.py": (2, _SCORECARD),
    "server/api/admin.py": (2, "the blueprint admin; a plan upload's validation report"),
    "server/usecases/admin/plans.py": (1, "a plan's validation report"),
    "server/open311/service_requests.py": (2, "Open311 statuses open/closed"),
    "server/open311/views.py": (2, "Open311 statuses open/closed"),
    "server/usecases/cases.py": (2, "the report body's self_handle field"),
    "server/usecases/photos.py": (1, "Pillow's info['comment'] (a JPEG COM segment)"),
    "server/demo.py": (1, "the demo's user named admin"),
    "webapp/src/shared/i18n.ts": (1, "a doc comment's example"),
    "webapp/src/app/App.vue": (1, "the report tab"),
    "webapp/src/app/router.ts": (1, "the report tab"),
    "webapp/src/app/outbox.ts": (3, "outbox items of kind report (stored on phones)"),
    "webapp/src/app/db.ts": (1, "outbox items of kind report"),
    "webapp/src/app/sync.ts": (1, "outbox items of kind report"),
    "webapp/src/app/components/OutboxItemCard.vue": (1, "outbox items of kind report"),
    "webapp/src/app/views/ReportView.vue": (2, "outbox items of kind report; a CSS class"),
    "webapp/src/console/App.vue": (1, "the admin section"),
    "webapp/src/console/routes/admin.ts": (1, "the admin section"),
    "webapp/src/console/pages/HotlinePage.vue": (2, "data-action attributes (e2e hooks)"),
    "webapp/src/console/pages/OverduePage.vue": (1, "a data-action attribute (e2e hook)"),
    "webapp/src/console/pages/dashboard/api.ts": (2, _METRICS + "; " + _SCORECARD),
    "webapp/src/console/pages/dashboard/format.ts": (2, _METRICS),
    "webapp/src/console/pages/dashboard/i18n.ts": (1, _METRICS),
    "webapp/src/console/pages/dashboard/ChoroplethMap.vue": (3, _METRICS),
    "webapp/src/console/pages/dashboard/DrillDialog.vue": (11, _METRICS + "; record types"),
    "webapp/src/console/pages/dashboard/DashboardPage.vue": (14, _METRICS + "; " + _SCORECARD),
    "webapp/src/console/pages/field/api.ts": (1, "a check-in decision (approve or reject)"),
    "server/usecases/patrols.py": (1, "a chunk answer's count of accepted positions"),
    "server/api/check_in_inputs.py": (1, "a check-in decision (approve or reject)"),
    "server/models/fieldwork.py": (
        2,
        "the SQL of the index of live check-ins (status <> rejected)",
    ),
}


def _spelled() -> dict[str, list[str]]:
    files = [*ROOT.joinpath("server").rglob("*.py"), *ROOT.joinpath("geo").rglob("*.py")]
    files += [p for p in ROOT.joinpath("webapp", "src").rglob("*") if p.suffix in (".ts", ".vue")]
    found: dict[str, list[str]] = {}
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT):
            continue
        pattern = PY if path.suffix == ".py" else TS
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                found.setdefault(rel, []).append(f"{rel}:{n}: {m.group(0)}")
    return found


def test_no_state_action_or_role_name_is_spelled_outside_the_domain() -> None:
    too_many = []
    for rel, hits in sorted(_spelled().items()):
        allowed = OTHER_VOCABULARIES.get(rel, (0, ""))[0]
        if len(hits) > allowed:
            too_many += hits
    assert not too_many, (
        "spell these from the domain (server: wf.State.X / wf.Action.X / wf.Role.X; apps: "
        "State.X … from @/shared/vocabulary; labels: label() of @/shared/i18n):\n"
        + "\n".join(too_many)
    )


def test_the_exemptions_are_still_needed() -> None:
    """An exemption no longer used is removed, so the list stays the truth."""
    found = _spelled()
    stale = [rel for rel in OTHER_VOCABULARIES if rel not in found]
    assert not stale, f"no longer spelled there, remove from OTHER_VOCABULARIES: {stale}"


def test_the_domain_spells_them() -> None:
    text = (ROOT / "server/domain/workflow.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in text for name in NAMES)
