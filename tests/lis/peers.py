"""A LIS nobody here wrote: python-hl7's asyncio MLLP server (``hl7.mllp``), answering AA, AE, AR or nothing,
run on its own event loop in a thread, on a free port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import hl7
import hl7.mllp


class Lis:
    """``answer``: "AA", "AE", "AR" or "silent" (reads the message and answers nothing), or a function of the
    message's text returning one of them or a whole answer (text starting with MSH). ``arrived`` is set at each
    message received."""

    def __init__(self, answer: str | Callable[[str], str] = "AA", port: int = 0):
        self.answer = answer
        self.received: list[str] = []
        self.arrived = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            hl7.mllp.start_hl7_server(self._client, host="127.0.0.1", port=port, encoding="utf-8"),
            self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _client(self, reader, writer) -> None:
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                self.received.append(str(message))
                self.arrived.set()
                answer = self.answer(str(message)) if callable(self.answer) else self.answer
                if answer == "silent":
                    continue
                if answer.startswith("MSH"):  # a whole answer, as the function wrote it
                    writer.writemessage(hl7.parse(answer))
                else:
                    writer.writemessage(message.create_ack(ack_code=answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def control_ids(self) -> list[str]:
        return [str(hl7.parse(m).segment("MSH")[10]) for m in self.received]

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
