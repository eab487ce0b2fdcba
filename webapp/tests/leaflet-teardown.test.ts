/**
 * Taking down a map (src/shared/leaflet-teardown.ts): a page left while its map was still
 * zooming to its frame got "Cannot read properties of undefined (reading '_leaflet_pos')" from
 * Leaflet's zoom-end timer, which `remove()` does not cancel (the supervisor's day map, left for a
 * case, in a full end-to-end run). And a lint: no bare `.remove()` of a map anywhere else.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as Leaflet from 'leaflet'
import { removeMap } from '@/shared/leaflet-teardown'

type ZoomingMap = Leaflet.Map & {
  _animatingZoom: boolean
  _animateToCenter: Leaflet.LatLng
  _animateToZoom: number
  _onZoomTransitionEnd: () => void
}

let L: typeof Leaflet
let close: () => Promise<void>

beforeAll(async () => {
  const { Window } = await import('happy-dom')
  const win = new Window()
  const g = globalThis as Record<string, unknown>
  g.window = win
  g.document = win.document
  g.navigator = win.navigator
  L = (await import('leaflet')).default
  close = () => win.happyDOM.close()
})
afterAll(async () => {
  await close()
})

/** A map in the middle of a zoom animation, as a `fitBounds` leaves it for 250 ms. */
function zooming(): ZoomingMap {
  const el = document.createElement('div')
  document.body.appendChild(el)
  const map = L.map(el).setView([38.1, 106.3], 12) as ZoomingMap
  map._animatingZoom = true
  map._animateToCenter = L.latLng(38.1, 106.3)
  map._animateToZoom = 14
  return map
}

describe('removeMap', () => {
  it('a zoom that ends after the map was removed is no error', () => {
    const map = zooming()
    removeMap(map)
    expect(() => map._onZoomTransitionEnd()).not.toThrow()
  })

  it('is needed: a bare remove() leaves the zoom-end timer to fail', () => {
    const map = zooming()
    map.remove()
    expect(() => map._onZoomTransitionEnd()).toThrow(/_leaflet_pos/)
  })

  it('takes no map quietly', () => {
    expect(() => removeMap(null)).not.toThrow()
  })
})

// ---- lint: every map is removed through removeMap ----

const SRC = fileURLToPath(new URL('../src', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue)$/.test(name) ? [p] : []
  })
}

describe('lint: maps are removed only through removeMap', () => {
  it('finds no bare map.remove() in src/', () => {
    const found: string[] = []
    for (const f of files(SRC)) {
      const rel = relative(SRC, f).replace(/\\/g, '/')
      if (rel === 'shared/leaflet-teardown.ts') continue
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\b(map|Map)\??\.remove\(\)/.test(line)) found.push(`src/${rel}:${i + 1}: use removeMap(map)\n    ${line.trim()}`)
        })
    }
    expect(found, found.join('\n')).toEqual([])
  })
})
