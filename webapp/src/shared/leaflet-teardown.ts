/**
 * Taking down a Leaflet map whose page is going away: the one way every map in both apps is
 * removed (tests/leaflet-teardown.test.ts keeps a bare `map.remove()` out of src/).
 *
 * Leaflet ends a zoom animation (a `fitBounds` that zooms, say) on a 250 ms timer that
 * `remove()` does not cancel. When the page was left inside those 250 ms, the timer moves the
 * panes `remove()` took away and the page gets "Cannot read properties of undefined (reading
 * '_leaflet_pos')" (seen in the supervisor's day map, left for a case while it framed the
 * day). Marking the animation over first makes that timer do nothing. Type-only import: this
 * module does not pull Leaflet into the page's code.
 */
import type { Map as LeafletMap } from 'leaflet'

export function removeMap(map: LeafletMap | null | undefined): void {
  if (!map) return
  ;(map as LeafletMap & { _animatingZoom?: boolean })._animatingZoom = false
  map.remove()
}
