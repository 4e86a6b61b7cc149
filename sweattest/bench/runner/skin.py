"""The skin check after each stimulation: the tech grades the site's skin as the electrodes come off; the
runner records it (``sweattest.record.skin_reactions``) and, for a blister or a burn, tells the tech what to do
(``sweattest.core.rules.skin.ADVICE``)."""

from __future__ import annotations

from sweattest.core.rules.skin import ADVICE
from sweattest.record.skin_reactions import SkinReaction, record_skin_reaction, run_skin_reactions

#: Site states after the collector went on (the skin is checked right after it goes on).
AFTER_COLLECTOR = ("collecting", "collection_done", "sample_measured", "adequate", "qns", "analyzed",
                   "result_ready")


def check_skin(runner, site: str) -> SkinReaction:
    check = runner.operator.check_skin(site)
    person, _ = getattr(runner.operator, "acting", (runner.operator.name, None))
    reaction = record_skin_reaction(runner.store, runner.run.run_id, site, check, who=person,
                                    at=runner.store.clock.utcnow())
    if reaction.adverse:
        text = f"{site.replace('_', ' ')}: {reaction.grade}. {ADVICE}"
        runner.operator.tell(text)
        runner.reporter.message(text)
    return reaction


def skin_unchecked(store, run) -> list[str]:
    """The run's sites whose collector went on but whose skin check was never recorded: the process stopped
    while the tech was asked (a restart asks again)."""
    checked = run_skin_reactions(store, run.run_id)
    return [s.site for s in run.sites if s.state in AFTER_COLLECTOR and s.site not in checked]
