"""Competency and skin-reaction figures against a store built with known values, on both backends: 12 runs
by tech1 in 2026 (2 QNS, 1 with erythema, 1 with a blister) on two inducers, 1 run by tech2; the pack sections;
the warnings for an operator short of the lab's minimums."""

from datetime import date

from sweattest.core.config import CompetencyRules
from sweattest.qa.competency import login_warnings, standings, year_filter
from sweattest.qa.competency import pack_section as competency_section
from sweattest.qa.skin_reactions import adverse_events, reaction_rates, reaction_rows
from sweattest.qa.skin_reactions import pack_section as skin_section
from sweattest.record.competency import add_record
from sweattest.record.run_filter import RunFilter
from sweattest.record.skin_reactions import record_skin_reaction
from tests.conftest import qa_main
from tests.store import backends
from tests.store.backends import make_run

TODAY = date(2026, 11, 30)
SITES = ("left_forearm", "right_forearm")


def _build_lab(staff, clock):
    """tech1: R01-R12 (R03, R07 QNS on both sites; R05 erythema on the left; R09 a blister on the right), R01-R06
    on inducer WS-1, R07-R12 on WS-2; passed an assessment, due again 2026-06-01 (overdue). tech2: one run, a
    failed assessment."""
    backends.add_staff(staff)
    for n in range(1, 13):
        run_id = f"R{n:02d}"
        make_run(staff, clock, run_id, volumes=(5, 5) if n in (3, 7) else (40, 40),
                 inducer="WS-1" if n <= 6 else "WS-2")
        for site in SITES:
            grade = {(5, "left_forearm"): ("erythema", "redness, faded in 10 min"),
                     (9, "right_forearm"): ("blister", "3 mm blister; Dr P told")}.get((n, site), ("none", ""))
            record_skin_reaction(staff, run_id, site, grade, who="tech1", at=clock.utcnow())
    make_run(staff, clock, "S01", operator="tech2", inducer="WS-1")
    for site in SITES:
        record_skin_reaction(staff, "S01", site, ("none", ""), who="tech2", at=clock.utcnow())
    add_record(staff, operator="tech1", kind="assessment", what="Macroduct collection, observed",
               done_on="2025-06-01", assessor="Rita Reviewer", outcome="pass", next_due="2026-06-01",
               recorded_by="rev1", at=clock.utcnow())
    add_user_tech2(staff)
    add_record(staff, operator="tech2", kind="assessment", what="Macroduct collection, observed",
               done_on="2026-11-01", assessor="Rita Reviewer", outcome="fail", next_due=None, recorded_by="rev1",
               at=clock.utcnow())


built_source, lab = backends.built_store(_build_lab, "lab")  # both backends; each test on its own copy


def add_user_tech2(store):
    from sweattest.record.users import add_user

    add_user(store, "tech2", "Tom Tech", "tech", "tech2 password")


def test_competency_per_operator_in_the_year(lab):
    rows = {s.operator: s for s in standings(lab, year_filter(2026), CompetencyRules(10), TODAY)}
    one = rows["tech1"]
    assert (one.tests, one.judged, one.qns, one.reacted) == (12, 12, 2, 2)
    assert (one.qns_rate_pct, one.skin_rate_pct) == (16.7, 16.7)
    assert one.warnings == ("the competency assessment was due on 2026-06-01",)
    two = rows["tech2"]
    assert (two.tests, two.qns_rate_pct, two.skin_rate_pct) == (1, 0.0, 0.0)
    assert two.warnings == ("1 patient test in the period, below the lab's minimum of 10 a year",
                            "the last competency assessment (2026-11-01) was failed")
    assert "rev1" not in rows  # a reviewer who never tests is not followed as an operator
    # the lab's minimum is its own (UK 2014 asks 50), and the year chooses the runs
    [one] = standings(lab, year_filter(2026), CompetencyRules(50), TODAY, operators=["tech1"])
    assert one.warnings[0] == "12 patient tests in the period, below the lab's minimum of 50 a year"
    assert standings(lab, year_filter(2025), CompetencyRules(10), TODAY, operators=["tech1"])[0].tests == 0


def test_the_first_year_rule_counts_from_the_hire_date(lab):
    """Twice in the first year after hire (the first by six months), then yearly (CLIA 493.1451(b)(8); CAP)."""
    for operator, hired in (("tech1", "2025-01-15"), ("tech2", "2026-05-01")):
        add_record(lab, operator=operator, kind="hire", what="hired as a sweat-test technologist", done_on=hired,
                   assessor="HR", outcome="pass", next_due=None, recorded_by="rev1", at=lab.clock.utcnow())
    rows = {s.operator: s for s in standings(lab, year_filter(2026), CompetencyRules(10), TODAY)}
    assert rows["tech1"].hired == date(2025, 1, 15)
    assert rows["tech1"].warnings[-2:] == (
        "1 of the 2 assessments of the first year after hire (2025-01-15) recorded",
        "yearly assessment overdue: the last passed was on 2025-06-01")
    assert rows["tech2"].warnings[-1] == ("first-year assessment at six months (by 2026-10-31) not recorded "
                                          "(hired 2026-05-01)")
    section = competency_section(lab, year_filter(2026), CompetencyRules(10), TODAY)
    assert dict(zip(section.columns, section.rows[0], strict=True))["hire_date"] == "2025-01-15"
    assert not any("No hire date recorded" in n for n in section.notes)


def test_log_in_warnings_name_the_shortfall_and_do_not_block(lab):
    warnings = login_warnings(lab, "tech2", "tech", CompetencyRules(10), TODAY)
    assert warnings == [
        "Competency: 1 patient test in the last 365 days, below the lab's minimum of 10 a year. Tell QA; you may "
        "go on working.",
        "Competency: the last competency assessment (2026-11-01) was failed. Tell QA; you may go on working."]
    assert login_warnings(lab, "boss", "admin", CompetencyRules(10), TODAY) == []


def test_skin_reactions_per_operator_and_per_inducer(lab):
    rows = reaction_rows(lab, RunFilter())
    by_operator = {r["key"]: r for r in reaction_rates(rows, "operator")}
    assert {k: (r["sites"], r["none"], r["erythema"], r["blister"], r["burn"], r["reaction_pct"], r["adverse_pct"])
            for k, r in by_operator.items()} == {"tech1": (24, 22, 1, 1, 0, 8.3, 4.2),
                                                 "tech2": (2, 2, 0, 0, 0, 0.0, 0.0)}
    by_inducer = {r["key"]: (r["sites"], r["reaction_pct"], r["adverse_pct"]) for r in reaction_rates(rows, "inducer")}
    assert by_inducer == {"WS-1": (14, 7.1, 0.0), "WS-2": (12, 8.3, 8.3)}
    [event] = adverse_events(rows)
    assert (event["run_id"], event["site"], event["grade"], event["inducer"]) == ("R09", "right_forearm", "blister",
                                                                                  "WS-2")
    later = lab.clock.utcnow().date()
    assert reaction_rows(lab, RunFilter(date_from=date(2027, 1, 1))) == []
    assert len(reaction_rows(lab, RunFilter(date_to=later))) == 26


def test_pack_sections(lab):
    where = year_filter(2026)
    skin = skin_section(lab, where)
    assert skin.key == "skin_reactions" and skin.columns[:3] == ("by", "key", "sites")
    assert ("operator", "tech1", 24, 22, 1, 1, 0, 8.3, 4.2) in skin.rows
    assert any("run R09, right_forearm, blister" in n for n in skin.notes)
    competency = competency_section(lab, where, CompetencyRules(10), TODAY)
    rows = {r[0]: dict(zip(competency.columns, r, strict=True)) for r in competency.rows}
    assert rows["tech1"]["tests"] == 12 and rows["tech1"]["qns_rate_pct"] == 16.7
    assert rows["tech1"]["last_assessment"] == "2025-06-01" and rows["tech2"]["outcome"] == "fail"
    assert "tech2: the last competency assessment (2026-11-01) was failed" in competency.notes


def test_commands_print_the_figures(lab, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["qa", "skin-reactions", "--db", lab.url]) == 0
    out = capsys.readouterr().out
    assert "adverse events: 1" in out and "BLISTER (tech1, inducer WS-2): 3 mm blister; Dr P told" in out
    assert qa_main(monkeypatch, ["qa", "skin-reactions", "--db", lab.url, "--format", "csv",
                                 "--from", "2026-01-01"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0] == "by,key,sites,none,erythema,blister,burn,reaction_pct,adverse_pct"
    assert "inducer,WS-2,12,10,1,1,0,16.7,8.3" not in csv and "inducer,WS-2,12,11,0,1,0,8.3,8.3" in csv
    assert qa_main(monkeypatch, ["qa", "competency", "--db", lab.url, "--year", "2026", "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any('"operator": "tech1", "hire_date": null, "tests": 12, "qns": 2, "qns_rate_pct": 16.7' in line
               for line in lines)
    assert qa_main(monkeypatch, ["qa", "competency", "--db", lab.url, "--year", "2026"]) == 0
    table = capsys.readouterr().out
    assert "WARNING: 1 patient test in the period" in table


def test_a_bad_period_is_one_line(lab, capsys, monkeypatch):
    assert qa_main(monkeypatch, ["qa", "skin-reactions", "--db", lab.url, "--from", "2026-12-01",
                                 "--to", "2026-11-01"]) == 2
    assert capsys.readouterr().err.strip() == "sweattest: error: --from 2026-12-01 is after --to 2026-11-01"
