"""Independent reader for the fleet tests: every message of a JetStream
stream, through the NATS Python client (nats-py), as NDJSON on stdout:
{"subject": ..., "id": <Nats-Msg-Id header>, "data": <payload text>}.

Usage: nats_read.py SERVERS STREAM [--info]
With --info: {"replicas": N, "messages": N, "subjects": [...]} instead.
"""
import asyncio
import json
import sys

import nats


async def main(servers: str, stream: str) -> None:
    nc = await nats.connect(servers=servers.split(","))
    js = nc.jetstream()
    info = await js.stream_info(stream)
    if "--info" in sys.argv:
        out = {
            "replicas": info.config.num_replicas,
            "messages": info.state.messages,
            "subjects": info.config.subjects,
        }
        sys.stdout.write(json.dumps(out) + "\n")
        await nc.drain()
        return
    want = info.state.messages
    sub = await js.pull_subscribe(info.config.subjects[0], stream=stream)
    got = 0
    while got < want:
        for m in await sub.fetch(min(500, want - got), timeout=10):
            out = {
                "subject": m.subject,
                "id": (m.headers or {}).get("Nats-Msg-Id"),
                "data": m.data.decode(),
            }
            sys.stdout.write(json.dumps(out) + "\n")
            await m.ack()
            got += 1
    await nc.drain()


asyncio.run(main(sys.argv[1], sys.argv[2]))
