/**
 * Filter rules (iptables' rule specification: `-s`, `-d`, `-p`, `--sport`,
 * `--dport`, `-i`, `-o`, `!`, `-j ACCEPT|DROP|REJECT --reject-with`,
 * `-m comment`), their validation, and the compiled form the hot path
 * matches with integer compares only.
 *
 * References: iptables(8) "PARAMETERS", iptables-extensions(8) "tcp", "udp",
 * "comment" and "REJECT".
 */
import { Schema } from "effect"
import { isU32, PREFIX_MASKS } from "../route/route.ts"

/** The five netfilter hooks (iptables' built-in chains): where the IPv4 layer consults the filter. */
export type Hook = "prerouting" | "input" | "forward" | "output" | "postrouting"

/** The hooks in packet-flow order (the order `Netfilter.format` prints them). */
export const HOOKS: ReadonlyArray<Hook> = Object.freeze(["prerouting", "input", "forward", "output", "postrouting"])

/** What a rule decides (`-j ACCEPT`, `-j DROP`, `-j REJECT`). */
export type Verdict = "accept" | "drop" | "reject"

/** A chain's policy: what happens to a packet no rule matched (iptables allows only ACCEPT and DROP). */
export type Policy = "accept" | "drop"

/** The ICMP error a `reject` sends (`--reject-with`; iptables' default is `icmp-port-unreachable`). */
export type RejectWith =
  | "icmp-net-unreachable"
  | "icmp-host-unreachable"
  | "icmp-port-unreachable"
  | "icmp-proto-unreachable"
  | "icmp-admin-prohibited"

/** Every `RejectWith`. */
export const REJECT_WITH: ReadonlyArray<RejectWith> = Object.freeze([
  "icmp-net-unreachable",
  "icmp-host-unreachable",
  "icmp-port-unreachable",
  "icmp-proto-unreachable",
  "icmp-admin-prohibited"
])

/**
 * What the filter sees of a packet. The IPv4 layer fills one per packet and
 * may reuse the object (mutable scratch).
 */
export interface PacketInfo {
  source: number
  destination: number
  protocol: number
  /** -1 when absent (not TCP/UDP, or a fragment other than the first). */
  sourcePort: number
  /** -1 when absent (not TCP/UDP, or a fragment other than the first). */
  destinationPort: number
  /** Total length of the datagram (counted in the byte counters). */
  length: number
  inInterface: string | undefined
  outInterface: string | undefined
}

/** An address with a prefix (`-s 10.0.0.0/8`); host bits are masked off, as iptables does. */
export interface AddressMatch {
  readonly address: number
  readonly prefixLength: number
}

/** A port (`--dport 22`) or an inclusive range (`--dport 1000:2000`). */
export type PortMatch = number | readonly [from: number, to: number]

/** The fields of a `RuleMatch`, each of which can be inverted. */
export type MatchField = "source" | "destination" | "protocol" | "sourcePort" | "destinationPort" | "inInterface" | "outInterface"

/**
 * What a rule matches; absent fields match anything, present ones must all
 * match. Ports need `protocol` 6 (TCP) or 17 (UDP), not inverted (iptables
 * loads the tcp/udp match from `-p`); a packet without ports never matches a
 * port field, inverted or not (as the tcp/udp matches on a non-first
 * fragment). An interface name ending in `+` matches every name with that
 * prefix (`eth+`). `invert` negates single fields (iptables' `!`).
 */
export interface RuleMatch {
  readonly source?: AddressMatch | undefined
  readonly destination?: AddressMatch | undefined
  /** IP protocol number, 1..255 (leave out for all protocols, iptables' `-p all`). */
  readonly protocol?: number | undefined
  readonly sourcePort?: PortMatch | undefined
  readonly destinationPort?: PortMatch | undefined
  /** `-i`: not allowed on the output and postrouting hooks. */
  readonly inInterface?: string | undefined
  /** `-o`: not allowed on the prerouting and input hooks. */
  readonly outInterface?: string | undefined
  readonly invert?: Readonly<Partial<Record<MatchField, boolean>>> | undefined
}

/** One rule: a match and a verdict (`reject` only on input, forward and output, as iptables' REJECT target). */
export interface Rule {
  readonly match: RuleMatch
  readonly verdict: Verdict
  /** Only with `reject`; defaults to `icmp-port-unreachable`. */
  readonly rejectWith?: RejectWith | undefined
  /** Free text, at most 256 characters (`-m comment --comment`). */
  readonly comment?: string | undefined
}

/** What `Netfilter.evaluate` returns: shared, preallocated, frozen objects. */
export interface Decision {
  readonly verdict: Verdict
  /** The ICMP error to send for `reject`; `undefined` otherwise. */
  readonly rejectWith: RejectWith | undefined
}

/** A rule that cannot be added (iptables' parameter problem), or a bad hook or policy. */
export class InvalidRule extends Schema.TaggedError<InvalidRule>()("InvalidRule", {
  hook: Schema.String,
  reason: Schema.String
}) {}

/** No rule at that position of the chain (iptables' "Index of deletion too big"). */
export class RuleNotFound extends Schema.TaggedError<RuleNotFound>()("RuleNotFound", {
  hook: Schema.String,
  position: Schema.Number
}) {}

/** The decision of accepting. */
export const ACCEPT: Decision = Object.freeze({ verdict: "accept", rejectWith: undefined })
/** The decision of dropping. */
export const DROP: Decision = Object.freeze({ verdict: "drop", rejectWith: undefined })
const REJECT_DECISIONS: Readonly<Record<RejectWith, Decision>> = {
  "icmp-net-unreachable": Object.freeze({ verdict: "reject", rejectWith: "icmp-net-unreachable" }),
  "icmp-host-unreachable": Object.freeze({ verdict: "reject", rejectWith: "icmp-host-unreachable" }),
  "icmp-port-unreachable": Object.freeze({ verdict: "reject", rejectWith: "icmp-port-unreachable" }),
  "icmp-proto-unreachable": Object.freeze({ verdict: "reject", rejectWith: "icmp-proto-unreachable" }),
  "icmp-admin-prohibited": Object.freeze({ verdict: "reject", rejectWith: "icmp-admin-prohibited" })
}

/** The shared decision of rejecting with `code`. */
export const rejectDecision = (code: RejectWith): Decision => REJECT_DECISIONS[code]

// Bits of `CompiledRule.present` / `CompiledRule.inverted`.
const SRC = 1
const DST = 2
const PROTO = 4
const SPORT = 8
const DPORT = 16
const IN = 32
const OUT = 64
const BITS: Readonly<Record<MatchField, number>> = {
  source: SRC,
  destination: DST,
  protocol: PROTO,
  sourcePort: SPORT,
  destinationPort: DPORT,
  inInterface: IN,
  outInterface: OUT
}

/** A validated rule in the form the hot path matches, with its counters. */
export class CompiledRule {
  /** The rule as given, with addresses masked and `rejectWith` filled in (frozen). */
  readonly rule: Rule
  readonly decision: Decision
  readonly present: number
  readonly inverted: number
  readonly sourceAddress: number
  readonly sourceMask: number
  readonly destinationAddress: number
  readonly destinationMask: number
  readonly protocol: number
  readonly sourceFrom: number
  readonly sourceTo: number
  readonly destinationFrom: number
  readonly destinationTo: number
  readonly inName: string
  readonly inPrefix: boolean
  readonly outName: string
  readonly outPrefix: boolean
  packets = 0
  bytes = 0

  constructor(rule: Rule, decision: Decision, present: number, inverted: number) {
    const m = rule.match
    this.rule = rule
    this.decision = decision
    this.present = present
    this.inverted = inverted
    this.sourceMask = m.source === undefined ? 0 : PREFIX_MASKS[m.source.prefixLength]
    this.sourceAddress = m.source === undefined ? 0 : m.source.address & this.sourceMask
    this.destinationMask = m.destination === undefined ? 0 : PREFIX_MASKS[m.destination.prefixLength]
    this.destinationAddress = m.destination === undefined ? 0 : m.destination.address & this.destinationMask
    this.protocol = m.protocol ?? 0
    this.sourceFrom = portFrom(m.sourcePort)
    this.sourceTo = portTo(m.sourcePort)
    this.destinationFrom = portFrom(m.destinationPort)
    this.destinationTo = portTo(m.destinationPort)
    this.inName = interfaceName(m.inInterface)
    this.inPrefix = m.inInterface?.endsWith("+") ?? false
    this.outName = interfaceName(m.outInterface)
    this.outPrefix = m.outInterface?.endsWith("+") ?? false
  }

  /** True when the packet matches every present field (allocation-free). */
  matches(info: PacketInfo): boolean {
    const present = this.present
    if (present === 0) return true
    const inverted = this.inverted
    if ((present & SRC) !== 0 && ((info.source & this.sourceMask) === this.sourceAddress) === ((inverted & SRC) !== 0)) return false
    if (
      (present & DST) !== 0 &&
      ((info.destination & this.destinationMask) === this.destinationAddress) === ((inverted & DST) !== 0)
    ) return false
    if ((present & PROTO) !== 0 && (info.protocol === this.protocol) === ((inverted & PROTO) !== 0)) return false
    if ((present & SPORT) !== 0) {
      const port = info.sourcePort
      if (port < 0 || (port >= this.sourceFrom && port <= this.sourceTo) === ((inverted & SPORT) !== 0)) return false
    }
    if ((present & DPORT) !== 0) {
      const port = info.destinationPort
      if (port < 0 || (port >= this.destinationFrom && port <= this.destinationTo) === ((inverted & DPORT) !== 0)) return false
    }
    if ((present & IN) !== 0 && matchInterface(info.inInterface, this.inName, this.inPrefix) === ((inverted & IN) !== 0)) return false
    if ((present & OUT) !== 0 && matchInterface(info.outInterface, this.outName, this.outPrefix) === ((inverted & OUT) !== 0)) {
      return false
    }
    return true
  }
}

const portFrom = (port: PortMatch | undefined): number => (port === undefined ? 0 : typeof port === "number" ? port : port[0])
const portTo = (port: PortMatch | undefined): number => (port === undefined ? 65535 : typeof port === "number" ? port : port[1])
/** The name, or for `eth+` the prefix `eth`. */
const interfaceName = (name: string | undefined): string =>
  name === undefined ? "" : name.endsWith("+") ? name.slice(0, -1) : name

/** iptables' interface match: exact, or by prefix for a `+` name; an absent interface is the empty name. */
const matchInterface = (actual: string | undefined, name: string, prefix: boolean): boolean => {
  const value = actual ?? ""
  return prefix ? value.startsWith(name) : value === name
}

const HOOK_SET: ReadonlySet<string> = new Set(HOOKS)
const VERDICTS: ReadonlySet<string> = new Set(["accept", "drop", "reject"])
const REJECT_SET: ReadonlySet<string> = new Set(REJECT_WITH)
/** IFNAMSIZ (16) less the terminating NUL. */
const MAX_INTERFACE_NAME = 15
/** xt_comment's limit. */
const MAX_COMMENT = 256

/** True when `hook` is one of the five hooks. */
export const isHook = (hook: unknown): hook is Hook => typeof hook === "string" && HOOK_SET.has(hook)

const isPort = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 65535

const checkAddress = (name: string, value: AddressMatch): string | undefined => {
  if (typeof value !== "object" || value === null) return `${name} must be { address, prefixLength }`
  if (!isU32(value.address)) return `${name} address must be a 32-bit address`
  if (!Number.isInteger(value.prefixLength) || value.prefixLength < 0 || value.prefixLength > 32) {
    return `${name} prefix length must be 0 to 32`
  }
  return undefined
}

const checkPort = (name: string, value: PortMatch): string | undefined => {
  if (typeof value === "number") return isPort(value) ? undefined : `${name} must be 0 to 65535`
  if (!Array.isArray(value) || value.length !== 2) return `${name} must be a port or [from, to]`
  const [from, to] = value
  if (!isPort(from) || !isPort(to)) return `${name} range must be within 0 to 65535`
  if (from > to) return `${name} range must run from low to high`
  return undefined
}

const checkInterface = (name: string, value: string): string | undefined => {
  if (typeof value !== "string" || value.length === 0) return `${name} must be an interface name`
  if (value.length > MAX_INTERFACE_NAME) return `${name} must be at most ${MAX_INTERFACE_NAME} characters (IFNAMSIZ)`
  if (value.indexOf("+") !== -1 && value.indexOf("+") !== value.length - 1) return `${name}: '+' only ends a name`
  return undefined
}

const reasonOf = (hook: Hook, rule: Rule): string | undefined => {
  if (typeof rule !== "object" || rule === null || typeof rule.match !== "object" || rule.match === null) {
    return "a rule is { match, verdict }"
  }
  if (!VERDICTS.has(rule.verdict)) return "verdict must be accept, drop or reject"
  if (rule.rejectWith !== undefined) {
    if (rule.verdict !== "reject") return "rejectWith only with the reject verdict"
    if (!REJECT_SET.has(rule.rejectWith)) return "unknown rejectWith"
  }
  if (rule.verdict === "reject" && hook !== "input" && hook !== "forward" && hook !== "output") {
    return "reject is only valid on the input, forward and output hooks"
  }
  if (rule.comment !== undefined && (typeof rule.comment !== "string" || rule.comment.length > MAX_COMMENT)) {
    return `comment must be text of at most ${MAX_COMMENT} characters`
  }
  const m = rule.match
  if (m.source !== undefined) {
    const reason = checkAddress("source", m.source)
    if (reason !== undefined) return reason
  }
  if (m.destination !== undefined) {
    const reason = checkAddress("destination", m.destination)
    if (reason !== undefined) return reason
  }
  if (m.protocol !== undefined && (!Number.isInteger(m.protocol) || m.protocol < 1 || m.protocol > 255)) {
    return "protocol must be 1 to 255 (leave it out for all protocols)"
  }
  if (m.sourcePort !== undefined || m.destinationPort !== undefined) {
    if ((m.protocol !== 6 && m.protocol !== 17) || m.invert?.protocol === true) {
      return "ports need protocol 6 (tcp) or 17 (udp), not inverted"
    }
  }
  if (m.sourcePort !== undefined) {
    const reason = checkPort("sourcePort", m.sourcePort)
    if (reason !== undefined) return reason
  }
  if (m.destinationPort !== undefined) {
    const reason = checkPort("destinationPort", m.destinationPort)
    if (reason !== undefined) return reason
  }
  if (m.inInterface !== undefined) {
    if (hook === "output" || hook === "postrouting") return `can't match inInterface on the ${hook} hook`
    const reason = checkInterface("inInterface", m.inInterface)
    if (reason !== undefined) return reason
  }
  if (m.outInterface !== undefined) {
    if (hook === "prerouting" || hook === "input") return `can't match outInterface on the ${hook} hook`
    const reason = checkInterface("outInterface", m.outInterface)
    if (reason !== undefined) return reason
  }
  if (m.invert !== undefined) {
    if (typeof m.invert !== "object" || m.invert === null) return "invert must be { field: boolean }"
    for (const [field, value] of Object.entries(m.invert)) {
      if (!(Object.hasOwn(BITS, field))) return `cannot invert unknown field ${field}`
      if (value !== undefined && typeof value !== "boolean") return `invert.${field} must be a boolean`
      if (value === true && m[field as MatchField] === undefined) return `cannot invert ${field}: it is not matched`
    }
  }
  return undefined
}

/** Compiles `rule` for `hook`, or says why it is invalid (iptables' parameter checks). */
export const compileRule = (hook: Hook, rule: Rule): CompiledRule | InvalidRule => {
  if (!isHook(hook)) return new InvalidRule({ hook: String(hook), reason: "unknown hook" })
  const reason = reasonOf(hook, rule)
  if (reason !== undefined) return new InvalidRule({ hook, reason })
  const m = rule.match
  let present = 0
  let inverted = 0
  const match: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = {}
  const invert: Partial<Record<MatchField, boolean>> = {}
  for (const field of Object.keys(BITS) as Array<MatchField>) {
    const value = m[field]
    if (value === undefined) continue
    present |= BITS[field]
    if (m.invert?.[field] === true) {
      inverted |= BITS[field]
      invert[field] = true
    }
  }
  if (m.source !== undefined) match.source = normalizeAddress(m.source)
  if (m.destination !== undefined) match.destination = normalizeAddress(m.destination)
  if (m.protocol !== undefined) match.protocol = m.protocol
  if (m.sourcePort !== undefined) match.sourcePort = copyPort(m.sourcePort)
  if (m.destinationPort !== undefined) match.destinationPort = copyPort(m.destinationPort)
  if (m.inInterface !== undefined) match.inInterface = m.inInterface
  if (m.outInterface !== undefined) match.outInterface = m.outInterface
  if (inverted !== 0) match.invert = Object.freeze(invert)
  const rejectWith = rule.verdict === "reject" ? rule.rejectWith ?? "icmp-port-unreachable" : undefined
  const normalized: Rule = Object.freeze({
    match: Object.freeze(match),
    verdict: rule.verdict,
    ...(rejectWith === undefined ? {} : { rejectWith }),
    ...(rule.comment === undefined ? {} : { comment: rule.comment })
  })
  const decision = rule.verdict === "accept"
    ? ACCEPT
    : rule.verdict === "drop"
    ? DROP
    : rejectDecision(rejectWith ?? "icmp-port-unreachable")
  return new CompiledRule(normalized, decision, present, inverted)
}

const normalizeAddress = (value: AddressMatch): AddressMatch =>
  Object.freeze({ address: (value.address & PREFIX_MASKS[value.prefixLength]) >>> 0, prefixLength: value.prefixLength })

const copyPort = (value: PortMatch): PortMatch =>
  typeof value === "number" ? value : Object.freeze([value[0], value[1]] as const)
