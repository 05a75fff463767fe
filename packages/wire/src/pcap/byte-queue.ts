/**
 * The input bytes a streaming reader has received but not consumed yet, as
 * the chunks they arrived in (never concatenated as a whole). The reader asks
 * for a structure only once `length` covers it, so nothing is ever allocated
 * for bytes that have not arrived: a length field read from the file can make
 * the reader wait, never allocate.
 */
export class ByteQueue {
  private chunks: Array<Uint8Array> = []
  /** Index in `chunks` of the first chunk with unread bytes. */
  private first = 0
  /** Bytes of `chunks[first]` already consumed. */
  private head = 0
  /** Bytes received and not consumed. */
  length = 0

  /** Appends `chunk` (kept by reference, not copied). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.length += chunk.length
  }

  /**
   * The next `n` bytes (`n <= length`) without consuming them: a view into the
   * current chunk when they lie in it, else a copy.
   */
  peek(n: number): Uint8Array {
    const chunk = this.chunks[this.first]
    if (chunk !== undefined && chunk.length - this.head >= n) return chunk.subarray(this.head, this.head + n)
    return this.copy(n)
  }

  /** The next `n` bytes (`n <= length`) in a new array, consumed. */
  take(n: number): Uint8Array {
    const out = this.copy(n)
    this.skip(n)
    return out
  }

  /** Consumes `n` bytes (`n <= length`). */
  skip(n: number): void {
    this.length -= n
    let left = n
    while (left > 0) {
      const chunk = this.chunks[this.first]
      if (chunk === undefined) break
      const available = chunk.length - this.head
      if (available > left) {
        this.head += left
        return
      }
      left -= available
      this.first++
      this.head = 0
    }
    if (this.first > 0 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first)
      this.first = 0
    }
  }

  private copy(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let written = 0
    let index = this.first
    let start = this.head
    while (written < n) {
      const chunk = this.chunks[index]
      if (chunk === undefined) break
      const part = Math.min(chunk.length - start, n - written)
      out.set(chunk.subarray(start, start + part), written)
      written += part
      index++
      start = 0
    }
    return out
  }
}
