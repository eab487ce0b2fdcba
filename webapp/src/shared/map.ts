/**
 * Map helpers on Leaflet, shared by the field app and the console. Import this module lazily
 * (it pulls Leaflet, ~40 KB gzipped): `await import('@/shared/map')`.
 *
 * Basemap: any XYZ/WMTS URL template from the configuration (`basemap_url`); several layers can
 * be given separated by `|` (e.g. 天地图 vec_w + cva_w annotation). Tianditu `_w` tiles and OSM
 * are Web Mercator over WGS84/CGCS2000, the same coordinates as our data; do not configure
 * GCJ-02 tiles (AMap/Tencent): points would be off by hundreds of metres. With no basemap, or
 * offline, the grid polygons are drawn on a plain background.
 */
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import './map.css'
import { bindTooltip, divIcon, escapeHtml, html, text } from './html'
import type { CaseState, CaseSummary, GridCollection, GridFeature } from './types'

export { L }

export const STATE_COLORS: Record<CaseState, string> = {
  reported: '#b45309',
  accepted: '#b45309',
  dispatched: '#c62828',
  in_progress: '#1565c0',
  resolved: '#6a1b9a',
  closed: '#2e7d32',
  rejected: '#616161',
  suspended: '#616161',
}

export interface MapOptions {
  basemapUrl?: string | null
  attribution?: string | null
  /** Draw the basemap (false when offline). */
  online?: boolean
  center?: [number, number]
  zoom?: number
}

function subdomainsFor(url: string): string {
  return /tianditu/i.test(url) ? '01234567' : 'abc'
}

export function basemapLayers(url: string | null | undefined, attribution?: string | null): L.TileLayer[] {
  if (!url) return []
  return url
    .split('|')
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u, i) =>
      L.tileLayer(u, {
        subdomains: subdomainsFor(u),
        maxZoom: 18,
        // Leaflet shows the attribution as HTML: the configured text is text
        attribution: i === 0 ? escapeHtml(attribution ?? '') : '',
        crossOrigin: false,
      }),
    )
}

export function createMap(el: HTMLElement, opts: MapOptions = {}): { map: L.Map; setOnline: (on: boolean) => void } {
  const map = L.map(el, {
    center: opts.center ?? [38.1, 106.3],
    zoom: opts.zoom ?? 13,
    zoomControl: true,
    attributionControl: Boolean(opts.basemapUrl),
    preferCanvas: false,
    tapTolerance: 20,
  })
  el.classList.add('wg-map')
  const layers = basemapLayers(opts.basemapUrl, opts.attribution)
  let shown = false
  const setOnline = (on: boolean): void => {
    if (on && !shown) layers.forEach((l) => l.addTo(map))
    if (!on && shown) layers.forEach((l) => l.remove())
    shown = on && layers.length > 0
    el.classList.toggle('wg-map--plain', !shown)
  }
  setOnline(opts.online !== false)
  return { map, setOnline }
}

export function gridStyle(highlight = false): L.PathOptions {
  return {
    color: highlight ? '#c62828' : '#1565c0',
    weight: highlight ? 3 : 2,
    opacity: 0.9,
    fillColor: highlight ? '#ef9a9a' : '#90caf9',
    fillOpacity: highlight ? 0.25 : 0.15,
  }
}

export function gridsLayer(
  collection: GridCollection | null | undefined,
  opts: { highlightCode?: string | null; onClick?: (f: GridFeature) => void; labels?: boolean } = {},
): L.GeoJSON {
  const layer = L.geoJSON(collection as unknown as GeoJSON.FeatureCollection, {
    style: (f) => gridStyle((f?.properties as { code?: string } | undefined)?.code === opts.highlightCode),
    onEachFeature: (feature, l) => {
      const p = feature.properties as GridFeature['properties']
      if (opts.labels !== false) {
        // a few grids (a worker's own): names always shown; many (a town): on tap
        const permanent = (collection?.features.length ?? 0) <= 30
        bindTooltip(l, text(p.name), { permanent, direction: 'center', className: 'wg-grid-label' })
      }
      if (opts.onClick) l.on('click', () => opts.onClick?.(feature as unknown as GridFeature))
    },
  })
  return layer
}

/** A region boundary from `GET /regions.geojson` (county, town or community). */
export interface RegionProperties {
  code: string
  name: string
  level: 'county' | 'town' | 'community'
  label_lon: number
  label_lat: number
}

const REGION_STYLE: Record<RegionProperties['level'], L.PathOptions> = {
  county: { color: '#37474f', weight: 3, opacity: 0.9, fill: true, fillColor: '#fbfaf5', fillOpacity: 0.6 },
  town: { color: '#546e7a', weight: 2, opacity: 0.9, dashArray: '8 4', fill: false },
  community: { color: '#78909c', weight: 1, opacity: 0.8, dashArray: '3 3', fill: false },
}

/**
 * County, town and community boundaries with their names, for under the grids: without a
 * basemap (or offline) they are what orients a person. Not interactive (clicks reach the grids
 * and cases above); community names only from `communityZoom` on.
 */
export function regionsLayer(collection: { features: Array<{ properties: RegionProperties; geometry: unknown }> }, map: L.Map, communityZoom = 14): L.LayerGroup {
  const group = L.layerGroup()
  const shapes = L.geoJSON(collection as unknown as GeoJSON.FeatureCollection, {
    interactive: false,
    style: (f) => REGION_STYLE[(f?.properties as RegionProperties).level] ?? REGION_STYLE.community,
  })
  group.addLayer(shapes)
  const labels: Array<{ level: string; marker: L.Marker }> = []
  for (const f of collection.features) {
    const p = f.properties
    if (p.level === 'county') continue
    const marker = L.marker([p.label_lat, p.label_lon], {
      interactive: false,
      keyboard: false,
      icon: divIcon(L, { className: `wg-region-label wg-region-${p.level}`, html: html`<span>${p.name}</span>`, iconSize: [0, 0] }),
    })
    labels.push({ level: p.level, marker })
  }
  const sync = (): void => {
    const z = map.getZoom()
    for (const { level, marker } of labels) {
      const show = level === 'town' ? z < communityZoom + 2 : z >= communityZoom
      if (show && !group.hasLayer(marker)) group.addLayer(marker)
      if (!show && group.hasLayer(marker)) group.removeLayer(marker)
    }
  }
  map.on('zoomend', sync)
  group.on('remove', () => map.off('zoomend', sync))
  sync()
  return group
}

export function fitCollection(map: L.Map, collection: GridCollection | null | undefined, padding = 16): boolean {
  if (!collection?.features.length) return false
  const b = L.geoJSON(collection as unknown as GeoJSON.FeatureCollection).getBounds()
  if (!b.isValid()) return false
  map.fitBounds(b, { padding: [padding, padding] })
  return true
}

export function caseMarker(c: CaseSummary): L.CircleMarker | null {
  if (c.lon == null || c.lat == null) return null
  return L.circleMarker([c.lat, c.lon], {
    radius: 9,
    color: '#fff',
    weight: 2,
    fillColor: STATE_COLORS[c.state] ?? '#616161',
    fillOpacity: 1,
  })
}

/** A draggable pin (a CSS div icon: no marker images to bundle). */
export function pinMarker(lat: number, lon: number): L.Marker {
  return L.marker([lat, lon], {
    draggable: true,
    autoPan: true,
    icon: divIcon(L, { className: 'wg-pin', html: html`<span></span>`, iconSize: [36, 40], iconAnchor: [18, 32] }),
  })
}

/** A circle showing GPS accuracy. */
export function accuracyCircle(lat: number, lon: number, metres: number): L.Circle {
  return L.circle([lat, lon], { radius: metres, color: '#1565c0', weight: 1, fillOpacity: 0.08, interactive: false })
}
