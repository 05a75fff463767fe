/**
 * Filter hooks (netfilter/iptables-like, one table): a chain of rules per
 * hook, first match wins, else the policy; packet and byte counters;
 * `iptables -L -v -n` text.
 */
export { Netfilter, type PolicyCounters, type RuleCounters } from "./netfilter.ts"
export {
  ACCEPT,
  type AddressMatch,
  type Decision,
  DROP,
  type Hook,
  HOOKS,
  InvalidRule,
  isHook,
  type MatchField,
  type PacketInfo,
  type Policy,
  type PortMatch,
  REJECT_WITH,
  rejectDecision,
  type RejectWith,
  type Rule,
  type RuleMatch,
  RuleNotFound,
  type Verdict
} from "./rule.ts"
