"""The sweat test as a pure state machine: no I/O, no clock reads; time arrives with each event.

``apply(run, event)`` returns the next run state and the effects the runner must carry out.
"""

from sweattest.procedure.core import apply, new_run, replay
from sweattest.procedure.effects import Effect
from sweattest.procedure.events import Event
from sweattest.procedure.model import RunState, SiteRecord
from sweattest.procedure.table import SITE_STATES, TRANSITIONS

__all__ = ["apply", "new_run", "replay", "Effect", "Event", "RunState", "SiteRecord", "SITE_STATES",
           "TRANSITIONS"]
