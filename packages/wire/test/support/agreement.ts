/**
 * The view ⇄ Schema agreement check used by every header's tests: on any
 * bytes, the view accepts exactly what the Schema codec accepts, yields equal
 * values, and refuses for the same named reason.
 */
import { expect } from "@effect/vitest"
import { PacketBuffer } from "@netstack/buffers"
import { type HeaderDefect, isHeaderDefect } from "@netstack/wire"
import { Result, Schema } from "effect"

/** A header's two decoders. */
export interface Decoders<T> {
  readonly codec: Schema.Codec<T, Uint8Array>
  readonly parse: (buffer: PacketBuffer) => { toHeader(): T } | HeaderDefect
}

/** Asserts that the view and the Schema agree on `bytes`; returns the decoded header, if accepted. */
export const expectAgreement = <T>(decoders: Decoders<T>, bytes: Uint8Array): T | undefined => {
  const schema = Schema.decodeUnknownResult(decoders.codec)(bytes.slice())
  const view = decoders.parse(PacketBuffer.wrap(bytes.slice()))
  if (isHeaderDefect(view)) {
    expect(Result.isFailure(schema), `view refused (${view.name}), Schema accepted`).toBe(true)
    if (Result.isFailure(schema)) expect(schema.failure.message).toContain(view.name)
    return undefined
  }
  if (Result.isFailure(schema)) {
    expect.fail(`view accepted, Schema refused: ${schema.failure.message}`)
    return undefined
  }
  expect(view.toHeader()).toEqual(schema.success)
  return schema.success
}
