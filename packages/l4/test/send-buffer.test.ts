/**
 * The send buffer's writer wake-up rule (Linux `sk_stream_is_writeable`): a
 * writer blocked on a full buffer is woken once the room is at least half of
 * what is held, not by every acknowledgement.
 */
import { describe, expect, it } from "@effect/vitest"
import { PageRecycler } from "../src/tcp/page-recycler.ts"
import { SendBuffer } from "../src/tcp/send-buffer.ts"

describe("SendBuffer", () => {
  it("wakes a writer only once a third of a full buffer is free", () => {
    const capacity = 30_000
    const buffer = new SendBuffer(capacity, new PageRecycler(64 * 1024))
    expect(buffer.writeSpace).toBe(true)
    expect(buffer.write(new Uint8Array(40_000))).toBe(capacity)
    expect(buffer.free).toBe(0)
    expect(buffer.writeSpace).toBe(false)
    // One segment acknowledged: room, but not enough to wake a writer.
    buffer.acknowledge(1448)
    expect(buffer.free).toBe(1448)
    expect(buffer.writeSpace).toBe(false)
    buffer.acknowledge(capacity / 3 - 1448 - 1)
    expect(buffer.writeSpace).toBe(false)
    buffer.acknowledge(1)
    expect(buffer.free).toBe(capacity / 3)
    expect(buffer.writeSpace).toBe(true)
    // Everything acknowledged: an empty buffer always has room.
    buffer.acknowledge(buffer.length)
    expect(buffer.writeSpace).toBe(true)
  })
})
