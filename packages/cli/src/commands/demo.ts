/** `netstack demo`: runs the in-process demonstration (what `npm start` runs). */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { buffersDemo } from "../demo/buffers-demo.ts"

/** The `demo` subcommand. */
export const demoCommand = Command.make("demo", {}, () =>
  Effect.forEach(buffersDemo(), (line) => Console.log(line), { discard: true })
).pipe(Command.withDescription("Run the in-process demo network (no privileges needed)"))
