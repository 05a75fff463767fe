/** The `netstack` command: its subcommands and how it runs. */
import { Command } from "effect/cli"
import { decodeCommand } from "./commands/decode.ts"
import { DEFAULT_DEMO_PCAP, demoCommand, runDemo } from "./commands/demo.ts"
import { dumpCommand } from "./commands/dump.ts"
import { getCommand } from "./commands/get.ts"
import { pingCommand } from "./commands/ping.ts"
import { upCommand } from "./commands/up.ts"

/** The root command; without a subcommand it runs the demo, as `netstack demo` (what `npm start` runs) does. */
export const netstack = Command.make("netstack", {}, () => runDemo({ pcap: DEFAULT_DEMO_PCAP })).pipe(
  Command.withDescription("A user-space TCP/IP stack for Node.js, on Effect"),
  Command.withSubcommands([demoCommand, decodeCommand, upCommand, pingCommand, getCommand, dumpCommand])
)

/** Runs `netstack` with the process's arguments (needs the platform services). */
export const cli = Command.run(netstack, { version: "0.1.0" })
