/**
 * `netstack up`: attaches a netstack host to a real medium (TAP, QEMU
 * stream or dgram, passt) with its addresses, gateway and MTU, runs the
 * `--serve` services on it, announces `ready …` on one line of stdout, and
 * runs until SIGINT or SIGTERM; then it releases the medium (a TAP it
 * created disappears), completes the pcap, and prints what it did.
 */
import { ipv4ToString } from "@netstack/wire"
import { Console, Effect, Option } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import { bringUp, type HostChoice, hostFlags } from "../link/bring-up.ts"
import { makeServiceStats, parseService, ServiceSpecError, type ServiceSpec, startService } from "../up/services.ts"

/** `up`'s flags: the host's, the services, and the output format. */
const upFlags = {
  ...hostFlags,
  serve: Flag.String("serve").pipe(
    Flag.withDescription("Run a service: echo:PORT, discard:PORT, http:PORT or iperf3:PORT (repeatable)"),
    Flag.atLeast(0)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print the ready line and the summary as JSON"), Flag.withDefault(false))
} as const

/** Runs `up` with parsed flags until interrupted. */
export const up = (flags: HostChoice & { readonly serve: ReadonlyArray<string>; readonly json: boolean }) =>
  Effect.gen(function*() {
    const services: Array<ServiceSpec> = []
    for (const text of flags.serve) {
      const spec = parseService(text)
      if (spec instanceof ServiceSpecError) return yield* spec
      services.push(spec)
    }
    const { host, device, medium, mac, capture } = yield* bringUp(flags)
    const stats = makeServiceStats()
    for (const spec of services) yield* startService(host, spec, stats)
    const addresses = host.ipv4.addresses.on(device).map((a) => `${ipv4ToString(a.address)}/${a.prefixLength}`)
    const ready = {
      medium: medium.description,
      interface: device.name,
      mac,
      mtu: flags.mtu,
      addresses,
      gateway: Option.getOrUndefined(flags.gw),
      services: services.map((s) => `${s.kind}:${s.port}`),
      pcap: Option.getOrUndefined(flags.pcap)
    }
    yield* Console.log(
      flags.json
        ? `ready ${JSON.stringify(ready)}`
        : `ready ${ready.medium} ${ready.interface} ${mac} ${addresses.join(" ")} mtu ${ready.mtu}` +
          (services.length === 0 ? "" : ` serving ${ready.services.join(" ")}`)
    )
    yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          const nic = device.driver.nic.stats()
          const drops = Object.entries(host.link.drops.snapshot()).filter(([, n]) => n > 0)
          const summary = {
            rxPackets: device.stats.rxPackets,
            txPackets: device.stats.txPackets,
            rxMissed: nic.rx_missed_errors,
            drops: Object.fromEntries(drops),
            tcp: { retransSegs: host.tcp.stats.RetransSegs, inSegs: host.tcp.stats.InSegs, outSegs: host.tcp.stats.OutSegs },
            iperf3Tests: stats.iperf3.testsCompleted,
            pcapFrames: capture?.written
          }
          yield* Console.log(
            flags.json
              ? `stopped ${JSON.stringify(summary)}`
              : `stopped: rx ${summary.rxPackets} tx ${summary.txPackets} packets, rx missed ${summary.rxMissed}, ` +
                `TCP retransmitted ${summary.tcp.retransSegs} of ${summary.tcp.outSegs} segments` +
                (drops.length === 0 ? "" : `, drops ${drops.map(([reason, n]) => `${reason} ${n}`).join(" ")}`)
          )
        })
      )
    )
  }).pipe(Effect.scoped)

/** The `up` subcommand. */
export const upCommand = Command.make("up", upFlags, (flags) =>
  up(flags).pipe(Effect.mapError((error) => new CliError.UserError({ cause: error, userMessage: errorText(error) })))
).pipe(Command.withDescription("Attach a netstack host to a TAP, QEMU or passt medium and serve on it until SIGINT/SIGTERM"))

/** One line saying what went wrong. */
export const errorText = (error: { readonly _tag: string; readonly message?: string }): string =>
  `${error._tag}: ${error.message ?? ""}`
