"""The one error family. Every message says what happened and what the tech should do."""


class SweatTestError(Exception):
    """Base of every error sweattest raises on purpose."""

    #: exit status the command line uses for this kind of error
    exit_status = 1


class ConfigError(SweatTestError):
    """A configuration or protocol file is wrong; names the file, the key and the problem."""

    exit_status = 2


class ValidationError(SweatTestError):
    """Input from a person or a file is wrong; names the field and the fix."""

    exit_status = 2


class UnitError(ValidationError):
    """A quantity has the wrong dimension or cannot be parsed; names where it came from."""


class ProcedureError(SweatTestError):
    """An event is not allowed in the current state of the procedure."""

    def __init__(self, message: str, *, state: str | None = None, event: str | None = None):
        super().__init__(message)
        self.state = state
        self.event = event


class RunLeased(ProcedureError):
    """Another live process performs this run (it holds the run's lease): it is left alone."""


class RunTakenOver(ProcedureError):
    """The run was changed by another process, or another process now holds its lease: this process
    stops working on it (outputs off) and writes nothing more to it."""


class DeviceError(SweatTestError):
    """An instrument failed: silent, disconnected, or reported an error."""

    def __init__(self, message: str, *, device: str = "", command: str = "", received: bytes = b"",
                 action: str = ""):
        full = message
        if action:
            full = f"{message} {action}"
        super().__init__(full)
        self.device = device
        self.command = command
        self.received = received
        self.action = action


class ProtocolError(DeviceError):
    """An instrument answered with bytes that do not follow its protocol."""


class TamperError(SweatTestError):
    """Something stored does not match the hash recorded with it: it was changed outside sweattest."""


class StoreError(SweatTestError):
    """The run store cannot be opened or written."""


class AuthError(SweatTestError):
    """A user name and password did not authenticate (one message for every reason, by design)."""
