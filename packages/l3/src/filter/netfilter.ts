/**
 * Filter hooks: one chain of rules per netfilter hook, evaluated as
 * iptables evaluates a built-in chain of the filter (and raw) table — rules
 * in order, the first whose match succeeds decides (a terminating target:
 * ACCEPT, DROP or REJECT), else the chain's policy. Each rule and each
 * policy counts the packets and bytes it decided (`iptables -L -v`).
 *
 * References: iptables(8) ("TARGETS", "COMMANDS": -A, -I, -D, -F, -Z, -P,
 * -L), iptables-extensions(8) "REJECT".
 */
import { ipv4ToString } from "@netstack/wire"
import {
  ACCEPT,
  CompiledRule,
  compileRule,
  type Decision,
  DROP,
  type Hook,
  HOOKS,
  InvalidRule,
  isHook,
  type PacketInfo,
  type Policy,
  type Rule,
  RuleNotFound
} from "./rule.ts"

/** A rule with its counters (one line of `iptables -L -v`). */
export interface RuleCounters {
  readonly rule: Rule
  readonly packets: number
  readonly bytes: number
}

/** A chain's policy with the packets and bytes it decided. */
export interface PolicyCounters {
  readonly policy: Policy
  readonly packets: number
  readonly bytes: number
}

/** One built-in chain. */
class Chain {
  rules: Array<CompiledRule> = []
  policy: Policy = "accept"
  packets = 0
  bytes = 0
}

/** The filter: a chain of rules and a policy per hook. */
export class Netfilter {
  private readonly chains: Readonly<Record<Hook, Chain>> = {
    prerouting: new Chain(),
    input: new Chain(),
    forward: new Chain(),
    output: new Chain(),
    postrouting: new Chain()
  }
  private readonly emptyHooks: Record<Hook, boolean> = {
    prerouting: true,
    input: true,
    forward: true,
    output: true,
    postrouting: true
  }

  /** Appends `rule` to the chain of `hook` (`iptables -A`). */
  append(hook: Hook, rule: Rule): InvalidRule | undefined {
    const compiled = compileRule(hook, rule)
    if (compiled instanceof InvalidRule) return compiled
    this.chains[hook].rules.push(compiled)
    this.refresh(hook)
    return undefined
  }

  /**
   * Inserts `rule` at `position` of the chain of `hook` (`iptables -I hook
   * position`): positions count from 1, and 1 to length + 1 are valid.
   */
  insert(hook: Hook, position: number, rule: Rule): InvalidRule | undefined {
    const compiled = compileRule(hook, rule)
    if (compiled instanceof InvalidRule) return compiled
    const rules = this.chains[hook].rules
    if (!Number.isInteger(position) || position < 1 || position > rules.length + 1) {
      return new InvalidRule({ hook, reason: `position must be 1 to ${rules.length + 1} (index of insertion too big)` })
    }
    rules.splice(position - 1, 0, compiled)
    this.refresh(hook)
    return undefined
  }

  /** Deletes the rule at `position` (from 1) of the chain of `hook` (`iptables -D hook position`). */
  delete(hook: Hook, position: number): RuleNotFound | InvalidRule | undefined {
    if (!isHook(hook)) return new InvalidRule({ hook: String(hook), reason: "unknown hook" })
    const rules = this.chains[hook].rules
    if (!Number.isInteger(position) || position < 1 || position > rules.length) return new RuleNotFound({ hook, position })
    rules.splice(position - 1, 1)
    this.refresh(hook)
    return undefined
  }

  /** Removes every rule of `hook`, or of every hook (`iptables -F`); policies stay. Returns how many rules went. */
  flush(hook?: Hook): number {
    let removed = 0
    for (const h of HOOKS) {
      if (hook !== undefined && h !== hook) continue
      removed += this.chains[h].rules.length
      this.chains[h].rules = []
      this.refresh(h)
    }
    return removed
  }

  /** Sets the policy of `hook` (`iptables -P`): `accept` or `drop` only. */
  setPolicy(hook: Hook, policy: Policy): InvalidRule | undefined {
    if (!isHook(hook)) return new InvalidRule({ hook: String(hook), reason: "unknown hook" })
    if (policy !== "accept" && policy !== "drop") return new InvalidRule({ hook, reason: "bad policy name (accept or drop)" })
    this.chains[hook].policy = policy
    this.refresh(hook)
    return undefined
  }

  /**
   * The decision for a packet at `hook`: the first rule that matches, else
   * the policy; the deciding rule's (or policy's) counters go up by one
   * packet and `info.length` bytes. Allocation-free: the decisions are
   * shared frozen objects.
   */
  evaluate(hook: Hook, info: PacketInfo): Decision {
    const chain = this.chains[hook]
    const rules = chain.rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]
      if (rule.matches(info)) {
        rule.packets++
        rule.bytes += info.length
        return rule.decision
      }
    }
    chain.packets++
    chain.bytes += info.length
    return chain.policy === "accept" ? ACCEPT : DROP
  }

  /** True when `hook` has no rules and an accepting policy: the IPv4 layer may skip it. */
  isEmpty(hook: Hook): boolean {
    return this.emptyHooks[hook]
  }

  /** `isEmpty` of every hook (a live, read-only view). */
  get empty(): Readonly<Record<Hook, boolean>> {
    return this.emptyHooks
  }

  /** The rules of `hook` with their counters, in order (`iptables -L hook -v`). */
  list(hook: Hook): ReadonlyArray<RuleCounters> {
    if (!isHook(hook)) return []
    return this.chains[hook].rules.map((r) => ({ rule: r.rule, packets: r.packets, bytes: r.bytes }))
  }

  /** The policy of `hook` with the packets and bytes it decided. */
  policy(hook: Hook): PolicyCounters {
    const chain = this.chains[hook]
    return { policy: chain.policy, packets: chain.packets, bytes: chain.bytes }
  }

  /** Zeroes the rule and policy counters of `hook`, or of every hook (`iptables -Z`). */
  zero(hook?: Hook): void {
    for (const h of HOOKS) {
      if (hook !== undefined && h !== hook) continue
      const chain = this.chains[h]
      chain.packets = 0
      chain.bytes = 0
      for (const rule of chain.rules) {
        rule.packets = 0
        rule.bytes = 0
      }
    }
  }

  /** The chains as `iptables -L -v -n` prints them (all hooks, or `hook`), separated by blank lines. */
  format(hook?: Hook): string {
    const chains: Array<string> = []
    for (const h of HOOKS) {
      if (hook !== undefined && h !== hook) continue
      const chain = this.chains[h]
      const lines = [
        `Chain ${h.toUpperCase()} (policy ${chain.policy.toUpperCase()} ${countText(chain.packets)} packets, ${
          countText(chain.bytes)
        } bytes)`,
        " pkts bytes target     prot opt in     out     source               destination"
      ]
      for (const rule of chain.rules) lines.push(formatRule(rule))
      chains.push(lines.join("\n"))
    }
    return chains.join("\n\n")
  }

  private refresh(hook: Hook): void {
    const chain = this.chains[hook]
    this.emptyHooks[hook] = chain.rules.length === 0 && chain.policy === "accept"
  }
}

/** iptables' `xtables_print_num` with `-v` (no `-x`): up to 99999 as is, then K, M, G, T rounded. */
const countText = (n: number): string => {
  if (n <= 99999) return String(n)
  let value = n
  for (const unit of ["K", "M", "G", "T"]) {
    value = Math.floor((value + 500) / 1000)
    if (value <= 9999 || unit === "T") return `${value}${unit}`
  }
  return String(n)
}

const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "icmp"],
  [6, "tcp"],
  [17, "udp"],
  [50, "esp"],
  [51, "ah"],
  [58, "icmpv6"],
  [132, "sctp"],
  [135, "mh"],
  [136, "udplite"]
])

const addressText = (address: { readonly address: number; readonly prefixLength: number } | undefined): string =>
  address === undefined
    ? "0.0.0.0/0"
    : address.prefixLength === 32
    ? ipv4ToString(address.address)
    : `${ipv4ToString(address.address)}/${address.prefixLength}`

/** libxt_tcp's `print_ports`: ` spt:22`, ` dpts:1000:2000`, `!` after the colon when inverted. */
const portText = (name: string, port: number | readonly [number, number] | undefined, inverted: boolean): string => {
  if (port === undefined) return ""
  const bang = inverted ? "!" : ""
  if (typeof port === "number") return ` ${name}:${bang}${port}`
  return port[0] === port[1] ? ` ${name}:${bang}${port[0]}` : ` ${name}s:${bang}${port[0]}:${port[1]}`
}

/** One rule line of `iptables -L -v -n` (iptables' `print_firewall`). */
const formatRule = (compiled: CompiledRule): string => {
  const { rule } = compiled
  const m = rule.match
  const inv = m.invert ?? {}
  const bang = (inverted: boolean | undefined): string => (inverted === true ? "!" : " ")
  const protocol = m.protocol === undefined ? "all" : PROTOCOL_NAMES.get(m.protocol) ?? String(m.protocol)
  const iface = (name: string | undefined, inverted: boolean | undefined): string =>
    name === undefined ? "*" : `${inverted === true ? "!" : ""}${name}`
  let line = `${countText(compiled.packets).padStart(5)} ${countText(compiled.bytes).padStart(5)} ` +
    `${rule.verdict.toUpperCase().padEnd(9)} ${bang(inv.protocol)}${protocol.padEnd(5)}-- ` +
    ` ${iface(m.inInterface, inv.inInterface).padEnd(6)} ${iface(m.outInterface, inv.outInterface).padEnd(6)} ` +
    `${bang(inv.source)}${addressText(m.source).padEnd(19)} ${bang(inv.destination)}${addressText(m.destination).padEnd(19)} `
  if (m.sourcePort !== undefined || m.destinationPort !== undefined) {
    line += ` ${protocol}${portText("spt", m.sourcePort, inv.sourcePort === true)}${
      portText("dpt", m.destinationPort, inv.destinationPort === true)
    }`
  }
  if (rule.comment !== undefined) line += ` /* ${rule.comment} */`
  if (rule.rejectWith !== undefined) line += ` reject-with ${rule.rejectWith}`
  return line.trimEnd()
}
