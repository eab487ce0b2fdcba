import { describe, expect, it } from 'vitest'
import { locate, pointInPolygon } from '@/shared/geo'
import type { GridCollection } from '@/shared/types'

const square = (x0: number, y0: number, x1: number, y1: number) => [
  [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ],
]

const grids: GridCollection = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { id: 1, code: 'A', name: '甲' }, geometry: { type: 'Polygon', coordinates: square(106, 38, 106.01, 38.01) } },
    {
      type: 'Feature',
      properties: { id: 2, code: 'B', name: '乙' },
      geometry: {
        type: 'MultiPolygon',
        coordinates: [[...square(106.01, 38, 106.02, 38.01), ...[square(106.013, 38.003, 106.016, 38.006)[0]!]]],
      },
    },
  ],
}

describe('geo', () => {
  it('finds the grid that holds a point', () => {
    expect(locate(grids, 106.005, 38.005).grid?.properties.code).toBe('A')
    expect(locate(grids, 106.018, 38.005).grid?.properties.code).toBe('B')
  })
  it('respects holes', () => {
    const hole = locate(grids, 106.0145, 38.0045, 1)
    expect(hole.status).toBe('outside')
  })
  it('snaps to the nearest grid within the tolerance', () => {
    const near = locate(grids, 106.0001, 38.0101, 30) // ~11 m north of A
    expect(near.status).toBe('nearest')
    expect(near.grid?.properties.code).toBe('A')
    expect(locate(grids, 106.0, 38.02, 30).status).toBe('outside')
  })
  it('no point, no grid', () => {
    expect(locate(grids, null, null).status).toBe('none')
  })
  it('point in polygon basics', () => {
    expect(pointInPolygon(0.5, 0.5, square(0, 0, 1, 1))).toBe(true)
    expect(pointInPolygon(1.5, 0.5, square(0, 0, 1, 1))).toBe(false)
  })
})
