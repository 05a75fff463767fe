/**
 * A priority queue of items by due time, stable for equal times (first in,
 * first out): a binary min-heap on `(due, sequence number)`.
 */

interface Entry<A> {
  readonly due: number
  readonly seq: number
  readonly item: A
}

/** Items ordered by due time; equal due times keep insertion order. */
export class DueQueue<A> {
  private readonly heap: Array<Entry<A>> = []
  private nextSeq = 0

  /** Number of items queued. */
  get size(): number {
    return this.heap.length
  }

  /** The earliest due time, or `Infinity` when empty. */
  get earliest(): number {
    const top = this.heap[0]
    return top === undefined ? Infinity : top.due
  }

  /** Queues `item` due at `due`. */
  push(due: number, item: A): void {
    const heap = this.heap
    const entry: Entry<A> = { due, seq: this.nextSeq++, item }
    let i = heap.length
    heap.push(entry)
    while (i > 0) {
      const parent = (i - 1) >>> 1
      const p = heap[parent]
      if (p === undefined || !before(entry, p)) break
      heap[i] = p
      i = parent
    }
    heap[i] = entry
  }

  /** Removes and returns the earliest item if it is due at or before `limit`. */
  popDue(limit: number): A | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined || top.due > limit) return undefined
    const last = heap.pop()
    if (last !== undefined && heap.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const left = heap[l]
        if (left === undefined) break
        const right = heap[l + 1]
        const useRight = right !== undefined && before(right, left)
        const child = useRight ? right : left
        if (!before(child, last)) break
        heap[i] = child
        i = useRight ? l + 1 : l
      }
      heap[i] = last
    }
    return top.item
  }
}

const before = <A>(x: Entry<A>, y: Entry<A>): boolean => x.due < y.due || (x.due === y.due && x.seq < y.seq)
