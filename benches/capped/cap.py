"""A TCP proxy that caps each connection's bandwidth: downstream (registry to client, the
default), as object storage behind a registry (S3 for ECR) serves each connection, or upstream
(client to registry, `up`), for a destination slower to take a copied layer than the source is
to give it: `cap.py LISTEN_PORT UPSTREAM_PORT MB_PER_SECOND [down|up]`. Loopback only."""
import asyncio
import sys
import time

RATE = float(sys.argv[3]) * 1e6  # bytes per second, per connection
UP = sys.argv[4:] == ["up"]


async def pipe(reader, writer, capped):
    start, sent = time.monotonic(), 0
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
            if capped:
                sent += len(data)
                ahead = sent / RATE - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]))
    await asyncio.gather(
        pipe(client_reader, upstream_writer, UP), pipe(upstream_reader, client_writer, not UP)
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
