import { describe, expect, it } from 'vitest'
import { parseSse, SseParser, type SseEvent } from '@/shared/sse'

const changes = 'event: changes\nid: 42\ndata: {"cursor":"42","items":[]}\n\n'

describe('SSE parser', () => {
  it('reads a named frame with its id and data', () => {
    expect(parseSse(changes)).toEqual([{ event: 'changes', id: '42', data: '{"cursor":"42","items":[]}' }])
  })

  it('reads the same frames however the text is split, one character at a time included', () => {
    const text = changes + ': ping\n\n' + 'event: changes\nid: 43\ndata: {"cursor":"43"}\n\n'
    const whole = parseSse(text)
    expect(whole.map((e) => e.id)).toEqual(['42', '43'])
    expect(parseSse(text.split(''))).toEqual(whole)
    for (let cut = 1; cut < text.length; cut++) expect(parseSse([text.slice(0, cut), text.slice(cut)])).toEqual(whole)
  })

  it('waits for the blank line: a frame is not dispatched before it ends', () => {
    const seen: SseEvent[] = []
    const p = new SseParser({ onEvent: (e) => seen.push(e) })
    p.feed('event: changes\ndata: {"a"')
    p.feed(':1}\n')
    expect(seen).toEqual([])
    p.feed('\n')
    expect(seen).toEqual([{ event: 'changes', id: '', data: '{"a":1}' }])
  })

  it('takes CRLF and lone CR line ends, also with CR and LF in different chunks', () => {
    const crlf = changes.replace(/\n/g, '\r\n')
    expect(parseSse(crlf)).toEqual(parseSse(changes))
    expect(parseSse(changes.replace(/\n/g, '\r'))).toEqual(parseSse(changes))
    // a CR closing one chunk and the LF opening the next are one line end, not two: the frame
    // must not be cut after `event:` (which a second, empty line would do)
    const parts = ['event: changes\r', '\ndata: x\r', '\n\r', '\n']
    expect(parseSse(parts)).toEqual([{ event: 'changes', id: '', data: 'x' }])
  })

  it('joins several data lines with newlines and keeps the value after one space only', () => {
    expect(parseSse('data: one\ndata:two\ndata:  three\ndata\n\n')).toEqual([{ event: 'message', id: '', data: 'one\ntwo\n three\n' }])
  })

  it('gives comments to onComment and never dispatches them', () => {
    const seen: SseEvent[] = []
    const comments: string[] = []
    const p = new SseParser({ onEvent: (e) => seen.push(e), onComment: (c) => comments.push(c) })
    p.feed(': ping\n\n:raw\n\n')
    expect(comments).toEqual(['ping', 'raw'])
    expect(seen).toEqual([])
  })

  it('keeps the last id for later frames, ignores unknown fields and frames without data, reports retry', () => {
    const retries: number[] = []
    const seen: SseEvent[] = []
    const p = new SseParser({ onEvent: (e) => seen.push(e), onRetry: (ms) => retries.push(ms) })
    p.feed('id: 7\nevent: nothing\n\nretry: 3000\nretry: soon\nfoo: bar\ndata: a\n\nevent: signed_out\ndata: {}\n\n')
    expect(retries).toEqual([3000])
    expect(seen).toEqual([
      { event: 'message', id: '7', data: 'a' },
      { event: 'signed_out', id: '7', data: '{}' },
    ])
  })

  it('drops a byte-order mark at the start and an unfinished frame at the end', () => {
    expect(parseSse(['\uFEFFdata: a\n\n', 'data: b\n'])).toEqual([{ event: 'message', id: '', data: 'a' }])
  })
})
