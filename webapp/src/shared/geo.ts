/**
 * Geometry on the phone (no dependencies, no Leaflet): which of my grids holds a point.
 * Coordinates are WGS84 lon/lat (phones report WGS84; grids are served in EPSG:4326).
 */
import type { GridCollection, GridFeature, PolygonCoords, Position } from './types'

const EARTH_M = 6_371_008.8
const RAD = Math.PI / 180

/** Even-odd ray casting on one ring. */
export function pointInRing(lon: number, lat: number, ring: Position[]): boolean {
  let inside = false
  const n = ring.length
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = ring[i]!
    const b = ring[j]!
    const xi = a[0]!
    const yi = a[1]!
    const xj = b[0]!
    const yj = b[1]!
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

/** Inside the outer ring and outside every hole. */
export function pointInPolygon(lon: number, lat: number, rings: PolygonCoords): boolean {
  if (!rings.length || !pointInRing(lon, lat, rings[0]!)) return false
  for (let k = 1; k < rings.length; k++) if (pointInRing(lon, lat, rings[k]!)) return false
  return true
}

export function polygonsOf(f: GridFeature): PolygonCoords[] {
  const g = f.geometry
  if (!g) return []
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates
}

export function featureContains(f: GridFeature, lon: number, lat: number): boolean {
  return polygonsOf(f).some((p) => pointInPolygon(lon, lat, p))
}

/** Distance in metres from a point to a segment (local equirectangular projection). */
function segmentDistanceM(lon: number, lat: number, a: Position, b: Position): number {
  const kx = Math.cos(lat * RAD) * RAD * EARTH_M
  const ky = RAD * EARTH_M
  const ax = (a[0]! - lon) * kx
  const ay = (a[1]! - lat) * ky
  const bx = (b[0]! - lon) * kx
  const by = (b[1]! - lat) * ky
  const dx = bx - ax
  const dy = by - ay
  const len2 = dx * dx + dy * dy
  let t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0
  t = Math.max(0, Math.min(1, t))
  const px = ax + t * dx
  const py = ay + t * dy
  return Math.sqrt(px * px + py * py)
}

/** Distance in metres from a point to a feature's boundary (0 when inside). */
export function distanceToFeatureM(f: GridFeature, lon: number, lat: number): number {
  if (featureContains(f, lon, lat)) return 0
  let best = Infinity
  for (const poly of polygonsOf(f)) {
    for (const ring of poly) {
      for (let i = 1; i < ring.length; i++) {
        const d = segmentDistanceM(lon, lat, ring[i - 1]!, ring[i]!)
        if (d < best) best = d
      }
    }
  }
  return best
}

export function bboxOf(f: GridFeature): [number, number, number, number] {
  let minX = Infinity
  let minY = Infinity
  let maxX = -Infinity
  let maxY = -Infinity
  for (const poly of polygonsOf(f)) {
    for (const p of poly[0] ?? []) {
      const x = p[0]!
      const y = p[1]!
      if (x < minX) minX = x
      if (y < minY) minY = y
      if (x > maxX) maxX = x
      if (y > maxY) maxY = y
    }
  }
  return [minX, minY, maxX, maxY]
}

export interface Located {
  status: 'inside' | 'nearest' | 'outside' | 'none'
  grid: GridFeature | null
  distanceM: number | null
}

/**
 * The grid that holds (lon, lat) among `grids`; else the nearest one within `toleranceM`
 * (the server does the same with WANGGE_LOCATE_TOLERANCE_M); else outside.
 */
export function locate(
  grids: GridCollection | null | undefined,
  lon: number | null | undefined,
  lat: number | null | undefined,
  toleranceM = 30,
): Located {
  if (lon == null || lat == null || !Number.isFinite(lon) || !Number.isFinite(lat)) {
    return { status: 'none', grid: null, distanceM: null }
  }
  const feats = grids?.features ?? []
  let nearest: GridFeature | null = null
  let nearestD = Infinity
  // rough bbox pre-filter: 0.01° ≈ 1 km, well above any tolerance
  const pad = Math.max(0.001, (toleranceM / 111_000) * 2)
  for (const f of feats) {
    const [x0, y0, x1, y1] = bboxOf(f)
    if (lon < x0 - pad || lon > x1 + pad || lat < y0 - pad || lat > y1 + pad) continue
    if (featureContains(f, lon, lat)) return { status: 'inside', grid: f, distanceM: 0 }
    const d = distanceToFeatureM(f, lon, lat)
    if (d < nearestD) {
      nearestD = d
      nearest = f
    }
  }
  if (nearest && nearestD <= toleranceM) return { status: 'nearest', grid: nearest, distanceM: nearestD }
  return { status: 'outside', grid: null, distanceM: Number.isFinite(nearestD) ? nearestD : null }
}

/** Bounds of a collection as [[south, west], [north, east]] (Leaflet order), or null. */
export function collectionBounds(c: GridCollection | null | undefined): [[number, number], [number, number]] | null {
  if (!c || !c.features.length) return null
  let minX = Infinity
  let minY = Infinity
  let maxX = -Infinity
  let maxY = -Infinity
  for (const f of c.features) {
    const [x0, y0, x1, y1] = bboxOf(f)
    minX = Math.min(minX, x0)
    minY = Math.min(minY, y0)
    maxX = Math.max(maxX, x1)
    maxY = Math.max(maxY, y1)
  }
  if (!Number.isFinite(minX)) return null
  return [
    [minY, minX],
    [maxY, maxX],
  ]
}
