"""Instrument drivers over real wire protocols, and their simulators.

Importing this package registers the ``sim://`` pyserial URL handler, so
``serial.serial_for_url("sim://inducer?channels=2")`` opens a simulated instrument with the same Serial
API as a real port.
"""

import serial

_HANDLERS = "drivers.urlhandler"

if _HANDLERS not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(_HANDLERS)
