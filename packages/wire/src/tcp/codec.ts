/**
 * The Schema path for TCP: bytes ⇄ `TcpHeader` (bytes = header, options and
 * data; the data is not part of the header). Written plainly with a
 * `DataView`, independently of the view.
 */
import { fromBytes } from "../codec.ts"
import { TcpDefect } from "./defects.ts"
import {
  TCP_HEADER_LENGTH,
  TcpFlags,
  tcpFlagsByte,
  TcpHeader,
  type TcpOption,
  TcpOptionKinds,
  TcpOptionLengths,
  tcpOptionsLength,
  type TcpSackBlock
} from "./schema.ts"

/** The options in `view[start, end)`, or the defect (RFC 9293 §3.1 "Options", §3.2). */
const decodeOptions = (view: DataView, start: number, end: number): Array<TcpOption> | TcpDefect => {
  const options: Array<TcpOption> = []
  let at = start
  while (at < end) {
    const kind = view.getUint8(at)
    if (kind === TcpOptionKinds.eol) {
      // RFC 9293 §3.1 (MUST-69): what follows EOL is padding; kept as sent for a byte-exact round trip.
      options.push({ _tag: "Eol", padding: new Uint8Array(view.buffer.slice(view.byteOffset + at + 1, view.byteOffset + end)) })
      return options
    }
    if (kind === TcpOptionKinds.nop) {
      options.push({ _tag: "Nop" })
      at += 1
      continue
    }
    // Every other kind has a length byte counting kind, length and data (RFC 9293 §3.1, MUST-68).
    if (end - at < 2) return TcpDefect["bad-option-length"]
    const length = view.getUint8(at + 1)
    if (length < 2 || length > end - at) return TcpDefect["bad-option-length"]
    const data = at + 2
    switch (kind) {
      case TcpOptionKinds.mss: // RFC 9293 §3.2
        if (length !== TcpOptionLengths.mss) return TcpDefect["bad-option-length"]
        options.push({ _tag: "Mss", value: view.getUint16(data) })
        break
      case TcpOptionKinds.windowScale: // RFC 7323 §2.2
        if (length !== TcpOptionLengths.windowScale) return TcpDefect["bad-option-length"]
        options.push({ _tag: "WindowScale", shift: view.getUint8(data) })
        break
      case TcpOptionKinds.sackPermitted: // RFC 2018 §2
        if (length !== TcpOptionLengths.sackPermitted) return TcpDefect["bad-option-length"]
        options.push({ _tag: "SackPermitted" })
        break
      case TcpOptionKinds.sack: { // RFC 2018 §3: 2 + 8n bytes, n ≥ 1 (n ≤ 4 follows from 40 option bytes)
        const blockBytes = length - 2
        if (blockBytes === 0 || blockBytes % 8 !== 0) return TcpDefect["bad-option-length"]
        const blocks: Array<TcpSackBlock> = []
        for (let b = data; b < at + length; b += 8) blocks.push({ left: view.getUint32(b), right: view.getUint32(b + 4) })
        options.push({ _tag: "Sack", blocks })
        break
      }
      case TcpOptionKinds.timestamps: // RFC 7323 §3.2
        if (length !== TcpOptionLengths.timestamps) return TcpDefect["bad-option-length"]
        options.push({ _tag: "Timestamps", value: view.getUint32(data), echo: view.getUint32(data + 4) })
        break
      default: // RFC 9293 §3.1 (MUST-5): an option we do not implement is skipped by its length, kept here.
        options.push({
          _tag: "Unknown",
          kind,
          data: new Uint8Array(view.buffer.slice(view.byteOffset + data, view.byteOffset + at + length))
        })
    }
    at += length
  }
  return options
}

/** Writes `options` into `view` from `at`. */
const encodeOptions = (view: DataView, at: number, options: ReadonlyArray<TcpOption>): void => {
  let i = at
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  for (const option of options) {
    switch (option._tag) {
      case "Eol":
        view.setUint8(i, TcpOptionKinds.eol)
        bytes.set(option.padding, i + 1)
        i += 1 + option.padding.length
        break
      case "Nop":
        view.setUint8(i++, TcpOptionKinds.nop)
        break
      case "Mss":
        view.setUint8(i, TcpOptionKinds.mss)
        view.setUint8(i + 1, TcpOptionLengths.mss)
        view.setUint16(i + 2, option.value)
        i += TcpOptionLengths.mss
        break
      case "WindowScale":
        view.setUint8(i, TcpOptionKinds.windowScale)
        view.setUint8(i + 1, TcpOptionLengths.windowScale)
        view.setUint8(i + 2, option.shift)
        i += TcpOptionLengths.windowScale
        break
      case "SackPermitted":
        view.setUint8(i, TcpOptionKinds.sackPermitted)
        view.setUint8(i + 1, TcpOptionLengths.sackPermitted)
        i += TcpOptionLengths.sackPermitted
        break
      case "Sack":
        view.setUint8(i, TcpOptionKinds.sack)
        view.setUint8(i + 1, 2 + 8 * option.blocks.length)
        i += 2
        for (const block of option.blocks) {
          view.setUint32(i, block.left)
          view.setUint32(i + 4, block.right)
          i += 8
        }
        break
      case "Timestamps":
        view.setUint8(i, TcpOptionKinds.timestamps)
        view.setUint8(i + 1, TcpOptionLengths.timestamps)
        view.setUint32(i + 2, option.value)
        view.setUint32(i + 6, option.echo)
        i += TcpOptionLengths.timestamps
        break
      case "Unknown":
        view.setUint8(i, option.kind)
        view.setUint8(i + 1, 2 + option.data.length)
        bytes.set(option.data, i + 2)
        i += 2 + option.data.length
        break
    }
  }
}

/**
 * Decodes a TCP header (with its options) from the start of a segment, or
 * encodes one to its `dataOffset * 4` bytes. The checksum is read and written
 * as a field, not verified (that needs the pseudo-header: `TcpView.verifyChecksum`).
 */
export const TcpHeaderFromBytes = fromBytes(TcpHeader, {
  decode: (bytes) => {
    if (bytes.length < TCP_HEADER_LENGTH) return TcpDefect.truncated
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const dataOffset = view.getUint8(12) >> 4
    if (dataOffset < 5) return TcpDefect["bad-data-offset"]
    const headerLength = dataOffset * 4
    if (bytes.length < headerLength) return TcpDefect.truncated
    const options = decodeOptions(view, TCP_HEADER_LENGTH, headerLength)
    if (!Array.isArray(options)) return options
    const flags = view.getUint8(13)
    return {
      sourcePort: view.getUint16(0),
      destinationPort: view.getUint16(2),
      sequenceNumber: view.getUint32(4),
      acknowledgmentNumber: view.getUint32(8),
      dataOffset,
      reserved: view.getUint8(12) & 0x0f,
      cwr: (flags & TcpFlags.cwr) !== 0,
      ece: (flags & TcpFlags.ece) !== 0,
      urg: (flags & TcpFlags.urg) !== 0,
      ack: (flags & TcpFlags.ack) !== 0,
      psh: (flags & TcpFlags.psh) !== 0,
      rst: (flags & TcpFlags.rst) !== 0,
      syn: (flags & TcpFlags.syn) !== 0,
      fin: (flags & TcpFlags.fin) !== 0,
      window: view.getUint16(14),
      checksum: view.getUint16(16),
      urgentPointer: view.getUint16(18),
      options
    }
  },
  encode: (header) => {
    // The Schema has checked that the options fill exactly dataOffset * 4 - 20 bytes.
    const out = new Uint8Array(TCP_HEADER_LENGTH + tcpOptionsLength(header.options))
    const view = new DataView(out.buffer)
    view.setUint16(0, header.sourcePort)
    view.setUint16(2, header.destinationPort)
    view.setUint32(4, header.sequenceNumber)
    view.setUint32(8, header.acknowledgmentNumber)
    view.setUint8(12, (header.dataOffset << 4) | header.reserved)
    view.setUint8(13, tcpFlagsByte(header))
    view.setUint16(14, header.window)
    view.setUint16(16, header.checksum)
    view.setUint16(18, header.urgentPointer)
    encodeOptions(view, TCP_HEADER_LENGTH, header.options)
    return out
  }
})
