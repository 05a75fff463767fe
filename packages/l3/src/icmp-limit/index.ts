/** The ICMP error rate limiter (RFC 1812 §4.3.2.8; Linux `icmp_global_allow`, `icmpv4_xrlim_allow`). */
export { IcmpRateLimiter, type IcmpRateLimiterOptions, IcmpRateLimitStats } from "./limiter.ts"
