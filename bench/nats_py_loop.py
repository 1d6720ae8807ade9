#!/usr/bin/env python3
"""What a user writes instead of nats-post / nats-tail: a plain nats-py loop.

  nats_py_loop.py publish SERVERS STREAM SUBJECT < records.ndjson
      one js.publish per line (awaiting each ack, with a Nats-Msg-Id), the
      stream created if missing; prints the number published
  nats_py_loop.py consume SERVERS STREAM DURABLE N > out.ndjson
      pull consumer, fetch(100), write each payload, ack each; stops after N
"""
import asyncio
import hashlib
import sys

import nats
from nats.js.api import StreamConfig


async def publish(servers, stream, subject):
    nc = await nats.connect(servers=servers.split(","))
    js = nc.jetstream()
    try:
        await js.stream_info(stream)
    except Exception:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject.rsplit(".", 1)[0] + ".*"]))
    n = 0
    for line in sys.stdin.buffer:
        line = line.rstrip(b"\n")
        if not line:
            continue
        await js.publish(subject, line, headers={"Nats-Msg-Id": hashlib.sha256(line).hexdigest()[:32]})
        n += 1
    await nc.drain()
    print(n)


async def consume(servers, stream, durable, n):
    nc = await nats.connect(servers=servers.split(","))
    js = nc.jetstream()
    info = await js.stream_info(stream)
    sub = await js.pull_subscribe(info.config.subjects[0], durable=durable, stream=stream)
    out = sys.stdout.buffer
    got = 0
    while got < n:
        try:
            msgs = await sub.fetch(100, timeout=5)
        except nats.errors.TimeoutError:
            break
        for m in msgs:
            out.write(m.data + b"\n")
            await m.ack()
            got += 1
    out.flush()
    await nc.drain()


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        asyncio.run(publish(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        asyncio.run(consume(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
