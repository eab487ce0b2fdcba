/**
 * A Server-Sent Events parser (the `text/event-stream` framing of the HTML standard, §9.2.6):
 * pure, fed text chunks as they arrive, calling back once per complete frame. A frame may be
 * split anywhere across chunks (even between the CR and LF of one line end); lines end in LF,
 * CRLF or CR; `data:` lines of one frame are joined with "\n"; a line starting with `:` is a
 * comment (a keep-alive); `id:` persists until the next one, as the standard says; a frame
 * without any data is not dispatched; an unfinished frame at the end of the stream is dropped.
 * Decoding bytes (UTF-8, a character split across reads) is the caller's: a TextDecoder with
 * `{ stream: true }` (webapp/src/console/live.ts).
 */

export interface SseEvent {
  /** `event:`; "message" when the frame names none. */
  event: string
  /** The `data:` lines joined with "\n". */
  data: string
  /** The last `id:` seen in the stream so far ('' before any). */
  id: string
}

export interface SseHandlers {
  onEvent: (event: SseEvent) => void
  /** A comment line (`: ping` gives "ping"). */
  onComment?: (text: string) => void
  /** `retry:` (ms): the reconnection time the server asks for, as soon as the line is read. */
  onRetry?: (ms: number) => void
}

export class SseParser {
  private buf = ''
  /** The previous chunk ended in CR: a LF opening this one belongs to that line end. */
  private afterCR = false
  private started = false
  private event = ''
  private data: string[] = []
  private lastId = ''

  constructor(private readonly handlers: SseHandlers) {}

  /** Feed the next piece of decoded text. */
  feed(chunk: string): void {
    if (!chunk) return
    if (this.afterCR && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.afterCR = false
    if (!this.started) {
      this.started = true
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1)
    }
    const text = this.buf + chunk
    let start = 0
    for (;;) {
      const cr = text.indexOf('\r', start)
      const lf = text.indexOf('\n', start)
      if (cr < 0 && lf < 0) break
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf)
      this.line(text.slice(start, end))
      if (text[end] === '\r') {
        if (end + 1 === text.length) {
          this.afterCR = true
          start = end + 1
          break
        }
        start = text[end + 1] === '\n' ? end + 2 : end + 1
      } else start = end + 1
    }
    this.buf = text.slice(start)
  }

  /** Forget any unfinished frame (a new connection); the last id is kept. */
  reset(): void {
    this.buf = ''
    this.afterCR = false
    this.started = false
    this.event = ''
    this.data = []
  }

  private line(line: string): void {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) {
      const text = line.slice(1)
      this.handlers.onComment?.(text.startsWith(' ') ? text.slice(1) : text)
      return
    }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.event = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\0')) this.lastId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value))
        break
      default:
      // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const { event, data } = this
    this.event = ''
    this.data = []
    if (!data.length) return
    this.handlers.onEvent({ event: event || 'message', data: data.join('\n'), id: this.lastId })
  }
}

/** Parse a whole text at once (tests, fixtures). */
export function parseSse(text: string | string[]): SseEvent[] {
  const out: SseEvent[] = []
  const p = new SseParser({ onEvent: (e) => out.push(e) })
  for (const chunk of typeof text === 'string' ? [text] : text) p.feed(chunk)
  return out
}
