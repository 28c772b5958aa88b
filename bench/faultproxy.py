"""A TCP proxy that can refuse or hang, put between the product and Redis or Elasticsearch.

What a client sees in each mode:

- ``pass``: the service itself;
- ``refuse``: nothing listens (connecting is refused) and open connections are reset — a stopped
  Redis or a dead node;
- ``hang``: connections are accepted and nothing is answered, open ones stop moving — a paused
  (SIGSTOP) or overloaded service. Back to ``pass``, the paused connections move again.

Used by ``bench/outage_bench.py``; the shared services themselves are never stopped, so other
suites running on the machine are not affected.
"""

from __future__ import annotations

import asyncio
import socket
import threading


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"faultproxy-{self.port}", daemon=True)

    def url(self, scheme: str, path: str = "") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._start_async())
        return self

    def set_mode(self, mode: str) -> None:
        if mode not in ("pass", "refuse", "hang"):
            raise ValueError(f"unknown mode {mode!r}")
        self._call(self._set_mode_async(mode))

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # --- inside the event loop ------------------------------------------------------------------

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _start_async(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", self.port, reuse_address=True)

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _shutdown(self) -> None:
        await self._close_server()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _set_mode_async(self, mode: str) -> None:
        assert self._flowing is not None
        self.mode = mode
        if mode == "refuse":
            await self._close_server()
            for writer in list(self._writers):  # like a stopped service: connections reset
                writer.transport.abort()
            self._writers.clear()
            self._flowing.set()
        elif mode == "hang":
            self._flowing.clear()
            if self._server is None:
                await self._listen()
        else:
            if self._server is None:
                await self._listen()
            self._flowing.set()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self._writers.add(writer)
        try:
            await self._flowing.wait()  # a hung service accepts and says nothing
            if self.mode == "refuse":
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self._writers.discard(writer)
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pump(reader, upstream_writer), self._pump(upstream_reader, writer), return_exceptions=True
        )
        for w in (writer, upstream_writer):
            self._writers.discard(w)
            w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            if not writer.is_closing():
                writer.close()
