/**
 * Name resolution for netstack sockets. Netstack has no DNS resolver yet, so
 * a host is a dotted IPv4 address, or `localhost`, which RFC 6761 §6.3 says
 * resolves to the loopback address without asking DNS (as `/etc/hosts`
 * does); anything else is not found (`getaddrinfo ENOTFOUND name`).
 */
import { ipv4FromString } from "@netstack/wire"

/** The dotted IPv4 address `hostname` stands for, or undefined when it is not one. */
export const resolveIpv4 = (hostname: string): string | undefined => {
  if (hostname.toLowerCase() === "localhost") return "127.0.0.1"
  return ipv4FromString(hostname) === undefined ? undefined : hostname
}
