/**
 * A command-line host: one netstack `Host` with one Ethernet interface
 * (`eth0`) on the chosen medium, its addresses and default route, and
 * optionally a pcap of everything on it. The flags are the ones `up`,
 * `ping`, `get` and `dump` share.
 */
import { type EthernetDevice, capturePcap, type PcapCapture } from "@netstack/l2"
import { Host } from "@netstack/stack"
import { macFromString, macToString } from "@netstack/wire"
import { Effect, type FileSystem, Option, Random, type Scope } from "effect"
import { Flag } from "effect/cli"
import { type MediumChoice, mediumFlags, MediumSpecError, openMedium, type OpenMedium } from "./medium.ts"

/** The flags of a command-line host: its medium, addresses, gateway, MTU, MAC and capture. */
export const hostFlags = {
  ...mediumFlags,
  ip: Flag.String("ip").pipe(Flag.withDescription("An address of the interface, a.b.c.d/n (repeatable)"), Flag.atLeast(1)),
  gw: Flag.String("gw").pipe(Flag.withDescription("Default gateway a.b.c.d"), Flag.optional),
  mtu: Flag.Int("mtu").pipe(Flag.withDescription("Interface MTU"), Flag.withDefault(1500)),
  mac: Flag.String("mac").pipe(Flag.withDescription("Interface MAC (default: a random locally administered one)"), Flag.optional),
  pcap: Flag.String("pcap").pipe(Flag.withDescription("Write every frame of the interface to this pcap file"), Flag.optional)
} as const

/** The values of `hostFlags`. */
export interface HostChoice extends MediumChoice {
  readonly ip: ReadonlyArray<string>
  readonly gw: Option.Option<string>
  readonly mtu: number
  readonly mac: Option.Option<string>
  readonly pcap: Option.Option<string>
}

/** A host that is up: its interface, the medium under it, and its capture if one was asked for. */
export interface CommandHost {
  readonly host: Host
  readonly device: EthernetDevice
  readonly medium: OpenMedium
  readonly mac: string
  readonly capture: PcapCapture | undefined
}

/** A random locally administered, unicast MAC (02:xx:xx:xx:xx:xx). */
const randomMac = Effect.gen(function*() {
  let mac = 0x02
  for (let i = 0; i < 5; i++) mac = mac * 256 + (yield* Random.nextIntBetween(0, 255))
  return mac
})

/** Brings a host up on the chosen medium; everything is released when the scope closes. */
export const bringUp = (choice: HostChoice) =>
  Effect.gen(function*() {
    const mac = Option.isSome(choice.mac) ? macFromString(choice.mac.value) : yield* randomMac
    if (mac === undefined) return yield* new MediumSpecError({ message: `--mac ${Option.getOrElse(choice.mac, () => "")}: expected xx:xx:xx:xx:xx:xx` })
    const medium = yield* openMedium(choice)
    const host = yield* Host.make({ name: "netstack" })
    const device = yield* host.addInterface({
      mac,
      mtu: choice.mtu,
      rxRingSize: 1024,
      offloads: medium.offloads
        ? { rxChecksum: true, txChecksum: true, tso: true, scatterGather: true }
        : { rxChecksum: false, txChecksum: false, tso: false, scatterGather: false }
    })
    const capture = Option.isSome(choice.pcap) ? yield* capturePcap(host.link, choice.pcap.value) : undefined
    for (const cidr of choice.ip) {
      const added = host.addAddress(device, cidr)
      if (!("device" in added)) return yield* added
    }
    if (Option.isSome(choice.gw)) {
      const route = host.addRoute({ destination: "default", via: choice.gw.value })
      if (!("device" in route)) return yield* route
    }
    host.attach(device, medium.port)
    return { host, device, medium, mac: macToString(mac), capture } satisfies CommandHost
  })

/** What bringing a host up can fail with. */
export type BringUpError = Effect.Error<ReturnType<typeof bringUp>>
/** What bringing a host up needs. */
export type BringUpServices = Exclude<Effect.Services<ReturnType<typeof bringUp>>, Scope.Scope> | FileSystem.FileSystem
