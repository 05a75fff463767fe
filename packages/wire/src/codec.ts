/**
 * Builds a header's Schema codec from bytes: `Uint8Array` (Encoded) to the
 * header's typed representation (Type). This is the Schema path of decoding,
 * written plainly and independently of the view so property tests can hold
 * the two against each other. A refused input fails with a `SchemaIssue`
 * whose message is the defect's name (`ipv4.bad-version`), the same name the
 * view returns.
 */
import { Effect, Schema, SchemaGetter, SchemaIssue } from "effect"
import { type HeaderDefect, isHeaderDefect } from "./defect.ts"

/** How a header is read from and written to bytes, in plain code. */
export interface BytesCodec<E> {
  /** Reads the header at the start of `bytes` (payload may follow), or says why it is malformed. */
  readonly decode: (bytes: Uint8Array) => E | HeaderDefect
  /** Writes the header's bytes. */
  readonly encode: (header: E) => Uint8Array
}

/** The Schema from header bytes to `schema`'s Type, through `codec`. */
export const fromBytes = <S extends Schema.Top>(schema: S, codec: BytesCodec<S["Encoded"]>) =>
  Schema.Uint8Array.pipe(
    Schema.decodeTo(schema, {
      decode: SchemaGetter.transformEffect((bytes: Uint8Array) => {
        const decoded = codec.decode(bytes)
        return isHeaderDefect(decoded)
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: decoded.name }, bytes))
          : Effect.succeed(decoded)
      }),
      encode: SchemaGetter.transform(codec.encode)
    })
  )
