#!/usr/bin/env python3
"""A raw-asyncio HTTP/1.1 keep-alive server with a known hold, for the accuracy pass of benches/loadgen.py.

  slowserver.py PORT delay   every response is held 20 ms
  slowserver.py PORT stall   responses are frozen 1 s once every 5 s: one due in [4, 5) s of each 5 s cycle
                             (from the first request) waits until that second ends; others are answered at once

Raw asyncio rather than a framework keeps framework work out of the hold. GET /__stats answers the holds actually
applied (p50/p99 ms, the ground truth the tools' figures are compared with). Listens on 127.0.0.1 only.
"""

import asyncio
import json
import sys
import time

BODY = b'{"overall_ready":true,"state":2}'
HOLD = 0.020
CYCLE, FREEZE = 5.0, 1.0

holds = []
epoch = None


def response(body):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body


def stats():
    s = sorted(holds)
    pick = lambda q: round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 3) if s else None
    return json.dumps({"count": len(s), "p50_ms": pick(0.50), "p99_ms": pick(0.99)}).encode()


def hold_for(mode, now):
    global epoch
    if mode == "delay":
        return HOLD
    if epoch is None:
        epoch = now
    phase = (now - epoch) % CYCLE
    return CYCLE - phase if phase >= CYCLE - FREEZE else 0.0


async def serve(mode, reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET /__stats "):
                writer.write(response(stats()))
                continue
            t0 = time.monotonic()
            wait = hold_for(mode, t0)
            if wait > 0:
                await asyncio.sleep(wait)
            holds.append(time.monotonic() - t0)
            writer.write(response(BODY))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port, mode):
    server = await asyncio.start_server(lambda r, w: serve(mode, r, w), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
