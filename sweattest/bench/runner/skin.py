"""The skin check after each stimulation: the tech grades the site's skin as the electrodes come off; the
runner records it (``sweattest.record.skin_reactions``) and, for a blister or a burn, tells the tech what to do
(``sweattest.core.rules.skin.ADVICE``)."""

from __future__ import annotations

from sweattest.core.rules.skin import ADVICE
from sweattest.record.skin_reactions import SkinReaction, record_skin_reaction


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
