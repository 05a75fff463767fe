/** `netstack demo`: runs the in-process demonstration (what `npm start` runs). */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { buffersDemo } from "../demo/buffers-demo.ts"
import { driverDemo } from "../demo/driver-demo.ts"
import { wireDemo } from "../demo/wire-demo.ts"

/** Every line of the demo, each part building on the one before. */
export const demoLines: Effect.Effect<ReadonlyArray<string>, unknown> = Effect.gen(function*() {
  const buffers = buffersDemo()
  return [...buffers.lines, ...wireDemo(buffers.frame), ...(yield* driverDemo)]
})

/** The `demo` subcommand. */
export const demoCommand = Command.make("demo", {}, () =>
  Effect.flatMap(demoLines, (lines) => Effect.forEach(lines, (line) => Console.log(line), { discard: true }))
).pipe(Command.withDescription("Run the in-process demo network (no privileges needed)"))
