import assert from "node:assert/strict"
import { internetChecksum, PacketBuffer } from "@netstack/buffers"

// Room for Ethernet, IPv4 and TCP headers in front of the payload.
const packet = PacketBuffer.alloc(2048)
packet.reserve(128)
const payload = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")
packet.put(payload.length)
packet.setBytes(0, payload)

// Headers go into the headroom, innermost first; offsets are relative to `data`.
packet.push(20) // an IPv4 header
packet.setUint8(0, 0x45)
packet.setUint16(2, packet.length)
packet.setUint8(8, 64) // TTL
packet.setUint16(10, internetChecksum(packet.bytes, packet.data, packet.data + 20))
assert.equal(internetChecksum(packet.bytes, packet.data, packet.data + 20), 0) // it verifies

// A clone shares the bytes; a write on either side copies them first.
const clone = packet.clone()
if (!(clone instanceof PacketBuffer)) throw clone
clone.setUint8(8, 63)
assert.equal(packet.bytes[packet.data + 8], 64)
assert.equal(clone.bytes[clone.data + 8], 63)

// Operations that would break head ≤ data ≤ tail ≤ end return a typed error and change nothing.
const refused = packet.push(4096)
assert.equal(refused?._tag, "HeadroomExceeded")
assert.equal(packet.length, 20 + payload.length)
