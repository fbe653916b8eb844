#!/usr/bin/python3
"""delay_proxy.py - a loopback TCP proxy that delays every chunk of data by a
fixed time in each direction, keeping the order (a crude fixed-latency link).

Usage: delay_proxy.py LISTEN_PORT UPSTREAM_PORT [DELAY_MS]   (default 10 ms)

Listens on 127.0.0.1:LISTEN_PORT (0 = any free port), connects each client to
127.0.0.1:UPSTREAM_PORT, and forwards each chunk read from one side to the
other DELAY_MS after it was read (chunks are pipelined, not serialised: two
chunks read 1 ms apart leave 1 ms apart). An end of stream is forwarded
(half-close) DELAY_MS after it arrived, after the data before it. The TCP
connect itself is not delayed; only data is. Prints "ready PORT" on stdout
once listening. Runs until killed.
"""
import asyncio
import socket
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def pump_in():
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time() + delay, b""))

    async def pump_out():
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    await asyncio.gather(pump_in(), pump_out())


async def handle(creader, cwriter, upstream_port, delay):
    try:
        ureader, uwriter = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        cwriter.close()
        return
    for w in (cwriter, uwriter):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(pipe(creader, uwriter, delay), pipe(ureader, cwriter, delay))
    finally:
        for w in (cwriter, uwriter):
            try:
                w.close()
            except OSError:
                pass


async def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    delay = (float(sys.argv[3]) if len(sys.argv) == 4 else 10.0) / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream_port, delay), "127.0.0.1", listen_port)
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
