/**
 * The Schema path for ICMPv4: bytes ⇄ `Icmpv4Message`, written plainly with
 * a `DataView`. The bytes are the whole message (ICMP has no length field:
 * the message runs to the end of the IP payload). The checksum is decoded as
 * found, not verified (`Icmpv4View.verifyChecksum` does that on request).
 */
import { ipv4ToNumber, ipv4ToString } from "../addresses/ipv4.ts"
import { fromBytes } from "../codec.ts"
import { Icmpv4Defect } from "./defects.ts"
import { ICMPV4_HEADER_LENGTH, icmpv4Kind, Icmpv4Message, Icmpv4Types, Icmpv4UnreachableCodes } from "./schema.ts"

/** Decodes an ICMPv4 message (header and body), or encodes one. */
export const Icmpv4MessageFromBytes = fromBytes(Icmpv4Message, {
  decode: (bytes) => {
    if (bytes.length < ICMPV4_HEADER_LENGTH) return Icmpv4Defect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const type = view.getUint8(0)
    const code = view.getUint8(1)
    const checksum = view.getUint16(2)
    const rest = view.getUint32(4)
    const body = bytes.slice(ICMPV4_HEADER_LENGTH)
    const kind = icmpv4Kind(type, code, rest)
    switch (kind) {
      case "EchoReply":
      case "EchoRequest":
        return { _tag: kind, checksum, identifier: view.getUint16(4), sequence: view.getUint16(6), data: body }
      case "DestinationUnreachable":
        return code === Icmpv4UnreachableCodes.fragmentationNeeded
          ? { _tag: kind, code, checksum, nextHopMtu: view.getUint16(6), invoking: body }
          : { _tag: kind, code, checksum, invoking: body }
      case "TimeExceeded":
        return { _tag: kind, code, checksum, invoking: body }
      case "Redirect":
        return { _tag: kind, code, checksum, gateway: ipv4ToString(rest), invoking: body }
      case "ParameterProblem":
        return { _tag: kind, code, checksum, pointer: view.getUint8(4), invoking: body }
      case "Other":
        return { _tag: kind, type, code, checksum, restOfHeader: rest, data: body }
    }
  },
  encode: (m) => {
    const body = "invoking" in m ? m.invoking : m.data
    const out = new Uint8Array(ICMPV4_HEADER_LENGTH + body.length)
    const view = new DataView(out.buffer)
    view.setUint16(2, m.checksum)
    switch (m._tag) {
      case "EchoReply":
      case "EchoRequest":
        view.setUint8(0, m._tag === "EchoReply" ? Icmpv4Types.echoReply : Icmpv4Types.echoRequest)
        view.setUint16(4, m.identifier)
        view.setUint16(6, m.sequence)
        break
      case "DestinationUnreachable":
        view.setUint8(0, Icmpv4Types.destinationUnreachable)
        view.setUint8(1, m.code)
        view.setUint16(6, m.nextHopMtu ?? 0)
        break
      case "TimeExceeded":
        view.setUint8(0, Icmpv4Types.timeExceeded)
        view.setUint8(1, m.code)
        break
      case "Redirect":
        view.setUint8(0, Icmpv4Types.redirect)
        view.setUint8(1, m.code)
        view.setUint32(4, ipv4ToNumber(m.gateway as Parameters<typeof ipv4ToNumber>[0]))
        break
      case "ParameterProblem":
        view.setUint8(0, Icmpv4Types.parameterProblem)
        view.setUint8(1, m.code)
        view.setUint8(4, m.pointer)
        break
      case "Other":
        view.setUint8(0, m.type)
        view.setUint8(1, m.code)
        view.setUint32(4, m.restOfHeader)
        break
    }
    out.set(body, ICMPV4_HEADER_LENGTH)
    return out
  }
})
