"""The sweat test as a pure state machine: no I/O, no clock reads; time arrives with each event.

``apply(run, event)`` returns the next run state and the effects the runner must carry out.
"""

from sweattest.core.procedure.core import apply, new_run, replay
from sweattest.core.procedure.effects import Effect
from sweattest.core.procedure.events import Event
from sweattest.core.procedure.model import RunState, SiteRecord
from sweattest.core.procedure.table import SITE_STATES, TRANSITIONS

__all__ = ["apply", "new_run", "replay", "Effect", "Event", "RunState", "SiteRecord", "SITE_STATES",
           "TRANSITIONS"]
