/** The `netstack` command: its subcommands and how it runs. */
import { Command } from "effect/cli"
import { decodeCommand } from "./commands/decode.ts"
import { demoCommand } from "./commands/demo.ts"

/** The root command; `demo` is what `npm start` runs. */
export const netstack = Command.make("netstack").pipe(
  Command.withDescription("A user-space TCP/IP stack for Node.js, on Effect"),
  Command.withSubcommands([demoCommand, decodeCommand])
)

/** Runs `netstack` with the process's arguments (needs the platform services). */
export const cli = Command.run(netstack, { version: "0.1.0" })
