/**
 * Transfer subjects in processes of their own. A subject that shares its
 * process with another leaves it a different heap, JIT state and garbage:
 * a netstack transfer right after one through Node's 'data' events (whose
 * 256 MiB of read buffers are still being swept) ran at 27–31 Gbit/s,
 * against 40–45 after nothing or after `onread`. Each subject (a netstack
 * network, or Node's sockets with one read path) therefore runs in a child
 * process, kept up across its runs as a running system is, and the suites
 * alternate runs across the children, one at a time, with a pause between
 * so the last one's background work (GC sweeping, freeing) is done.
 *
 * The same file is the child's entry point: it builds the subject named on
 * its command line, then answers each `run` message with one timed transfer.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { setTimeout as sleep } from "node:timers/promises"
import { netstackTransfer, nodeTransfer, type NetstackBed, warmNetstack } from "./transfer.ts"

/** What a child process runs. */
export type SubjectSpec =
  /** A netstack network kept up across runs, warmed by `rounds` transfers of `warmUp` bytes over `flows` connections (none: cold). */
  | { readonly kind: "netstack"; readonly mtu: number; readonly offloaded: boolean; readonly warmUp: number; readonly rounds: number; readonly flows?: number }
  /** A netstack network brought up for each run and taken down after it (cold memory). */
  | { readonly kind: "netstack-fresh"; readonly mtu: number; readonly offloaded: boolean }
  /** Node `net` over 127.0.0.1, reading with `onread` or with 'data' events. */
  | { readonly kind: "node"; readonly onread: boolean }

/** One timed transfer in a subject's process. */
export interface SubjectRun {
  /** Nanoseconds per byte. */
  readonly nsPerByte: number
  /** Minor page faults the process took during the transfer. */
  readonly minorPageFaults: number
}

/** A subject running in its own process. */
export interface IsolatedSubject {
  /** One transfer of `total` bytes over `flows` connections. */
  readonly run: (total: number, flows?: number) => Promise<SubjectRun>
  /** Ends the process. */
  readonly close: () => Promise<void>
}

/** Messages from the parent. */
type Request = { readonly run: number; readonly flows: number } | { readonly close: true }
/** Messages from the child. */
type Reply = { readonly ready: true } | { readonly result: SubjectRun } | { readonly failed: string }

/** Settle time after each run, before the next subject starts (background GC and freeing of the last one). */
const SETTLE_MS = 200

/** Starts `spec` in a child process (same Node, same flags) and waits until it is warm. */
export const startSubject = (spec: SubjectSpec): Promise<IsolatedSubject> =>
  new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--subject", JSON.stringify(spec)], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    let pending: { readonly resolve: (reply: Reply) => void; readonly reject: (error: Error) => void } | undefined = {
      resolve: (reply) => ("ready" in reply ? resolve(subject) : reject(new Error("failed" in reply ? reply.failed : "no ready message"))),
      reject
    }
    const settle = (handler: (waiter: NonNullable<typeof pending>) => void): void => {
      const waiter = pending
      pending = undefined
      if (waiter !== undefined) handler(waiter)
    }
    child.on("message", (reply: Reply) => settle((waiter) => waiter.resolve(reply)))
    child.on("error", (error) => settle((waiter) => waiter.reject(error)))
    child.on("exit", (code, signal) => settle((waiter) => waiter.reject(new Error(`subject process exited with ${signal ?? `code ${code}`}`))))
    const ask = (request: Request): Promise<Reply> =>
      new Promise((resolveReply, rejectReply) => {
        pending = { resolve: resolveReply, reject: rejectReply }
        child.send(request)
      })
    const subject: IsolatedSubject = {
      run: async (total, flows = 1) => {
        const reply = await ask({ run: total, flows })
        await sleep(SETTLE_MS)
        if ("result" in reply) return reply.result
        throw new Error("failed" in reply ? reply.failed : "subject answered out of turn")
      },
      close: () =>
        new Promise((resolveClose) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolveClose()
          child.once("exit", () => resolveClose())
          child.send({ close: true })
        })
    }
  })

/** The child: builds the subject, then answers the parent's requests one at a time. */
const serve = async (spec: SubjectSpec): Promise<void> => {
  const bed: NetstackBed | undefined = spec.kind === "netstack"
    ? await warmNetstack(spec.mtu, spec.offloaded, spec.warmUp, spec.flows ?? 1, spec.rounds)
    : undefined
  const transfer = (total: number, flows: number): Promise<number> => {
    switch (spec.kind) {
      case "netstack":
        return bed === undefined ? Promise.reject(new Error("no network")) : bed.transfer(total, flows)
      case "netstack-fresh":
        return netstackTransfer(spec.mtu, spec.offloaded, total, flows)
      case "node":
        return nodeTransfer(total, spec.onread, flows)
    }
  }
  const reply = (message: Reply): void => void process.send?.(message)
  process.on("message", (request: Request) => {
    if ("close" in request) {
      void (bed?.close() ?? Promise.resolve()).finally(() => process.exit(0))
      return
    }
    const faults = process.resourceUsage().minorPageFault
    transfer(request.run, request.flows).then(
      (nsPerByte) => reply({ result: { nsPerByte, minorPageFaults: process.resourceUsage().minorPageFault - faults } }),
      (error: unknown) => reply({ failed: error instanceof Error ? error.message : String(error) })
    )
  })
  reply({ ready: true })
}

const at = process.argv.indexOf("--subject")
if (process.argv[1] === fileURLToPath(import.meta.url) && at >= 0) {
  await serve(JSON.parse(process.argv[at + 1] ?? "{}") as SubjectSpec)
}
