/** `netstack demo`: runs the in-process demonstration (what `npm start` runs). */
import { Console, Effect, type FileSystem } from "effect"
import { Command, Flag } from "effect/cli"
import { buffersDemo } from "../demo/buffers-demo.ts"
import { driverDemo } from "../demo/driver-demo.ts"
import { networkDemo } from "../demo/network-demo.ts"
import { wireDemo } from "../demo/wire-demo.ts"

/** Settings of the demo. */
export interface DemoOptions {
  /** Where the network part writes its pcap of the router's frames. */
  readonly pcap: string
}

/** The pcap file `netstack demo` writes unless told otherwise (`.gitignore` ignores `*.pcap`). */
export const DEFAULT_DEMO_PCAP = "netstack-demo.pcap"

/** Every line of the demo, each part building on the one before. */
export const demoLines = (options: DemoOptions): Effect.Effect<ReadonlyArray<string>, unknown, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const buffers = buffersDemo()
    return [...buffers.lines, ...wireDemo(buffers.frame), ...(yield* driverDemo), ...(yield* networkDemo(options))]
  })

/** Prints every line of the demo: what `netstack demo` and a bare `netstack` run. */
export const runDemo = (options: DemoOptions): Effect.Effect<void, unknown, FileSystem.FileSystem> =>
  Effect.flatMap(demoLines(options), (lines) => Effect.forEach(lines, (line) => Console.log(line), { discard: true }))

/** The `demo` subcommand. */
export const demoCommand = Command.make(
  "demo",
  {
    pcap: Flag.String("pcap").pipe(
      Flag.withDescription(`Write the frames of the demo network's router to this pcap file (default ${DEFAULT_DEMO_PCAP})`),
      Flag.withDefault(DEFAULT_DEMO_PCAP)
    )
  },
  ({ pcap }) => runDemo({ pcap })
).pipe(Command.withDescription("Run the in-process demo network (no privileges needed)"))
