/**
 * Regions for the filters (town → community → grid). Uses `GET /regions?parent=CODE` when the
 * server has it; otherwise falls back to what the grid layer tells (community codes and names,
 * towns by code) so the filters still work on an older server.
 */
import { reactive } from 'vue'
import { ApiError } from '@/shared/api'
import type { GridCollection } from '@/shared/types'
import { api } from './session'

export interface RegionItem {
  code: string
  name: string
  level?: string
}

interface State {
  towns: RegionItem[]
  communities: Record<string, RegionItem[]>
  grids: Record<string, RegionItem[]>
  loaded: boolean
  viaApi: boolean
}

export const regions: State = reactive({ towns: [], communities: {}, grids: {}, loaded: false, viaApi: false })

let gridsPromise: Promise<GridCollection | null> | null = null

/** All grids of my jurisdiction at a low zoom (cached; ETag on the server). */
export function allGrids(): Promise<GridCollection | null> {
  if (!gridsPromise) {
    gridsPromise = api
      .request<GridCollection>('GET', '/grids.geojson', { query: { zoom: 12 } })
      .then((a) => a.data)
      .catch(() => {
        gridsPromise = null
        return null
      })
  }
  return gridsPromise
}

function asItems(data: unknown): RegionItem[] | null {
  const list = Array.isArray(data) ? data : (data as { items?: unknown } | null)?.items
  if (!Array.isArray(list)) return null
  return list
    .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    .map((r) => ({ code: String(r.code ?? ''), name: String(r.name ?? r.code ?? ''), level: r.level as string | undefined }))
    .filter((r) => r.code)
}

async function fromApi(parent: string | null): Promise<RegionItem[] | null> {
  try {
    const { data } = await api.request<unknown>('GET', '/regions', { query: { parent: parent ?? undefined } })
    return asItems(data)
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null
    return null
  }
}

async function fromGrids(): Promise<void> {
  const gc = await allGrids()
  const towns = new Map<string, RegionItem>()
  const comms: Record<string, RegionItem[]> = {}
  const grids: Record<string, RegionItem[]> = {}
  for (const f of gc?.features ?? []) {
    const p = f.properties
    const cc = p.community_code ?? p.code.slice(0, 12)
    const tc = cc.slice(0, 9).padEnd(12, '0')
    if (!towns.has(tc)) towns.set(tc, { code: tc, name: tc, level: 'town' })
    const list = (comms[tc] ??= [])
    if (!list.some((c) => c.code === cc)) list.push({ code: cc, name: p.community_name ?? cc, level: 'community' })
    ;(grids[cc] ??= []).push({ code: p.code, name: p.name })
  }
  // Town names: a community is usually named after its town ("东塔镇第1社区"); else the code.
  for (const [tc, town] of towns) {
    const first = comms[tc]?.[0]?.name ?? ''
    const m = first.match(/^(.+?(?:镇|乡|街道|办事处))/)
    if (m?.[1]) town.name = m[1]
  }
  regions.towns = [...towns.values()].sort((a, b) => a.code.localeCompare(b.code))
  for (const k of Object.keys(comms)) comms[k]!.sort((a, b) => a.code.localeCompare(b.code))
  for (const k of Object.keys(grids)) grids[k]!.sort((a, b) => a.code.localeCompare(b.code))
  regions.communities = comms
  regions.grids = grids
}

export async function loadRegions(countyCode?: string | null): Promise<void> {
  if (regions.loaded) return
  regions.loaded = true
  const top = await fromApi(countyCode ?? null)
  if (top && top.length) {
    regions.viaApi = true
    // GET /regions answers my own region and its children: the towns of a county.
    let towns = top.filter((r) => r.level === 'town')
    const county = top.find((r) => r.level === 'county')
    if (!towns.length && county) towns = ((await fromApi(county.code)) ?? []).filter((r) => r.level !== 'county')
    regions.towns = towns
    // Grids per community come from the grid layer either way.
    void allGrids().then((gc) => {
      const grids: Record<string, RegionItem[]> = {}
      for (const f of gc?.features ?? []) {
        const cc = f.properties.community_code ?? f.properties.code.slice(0, 12)
        ;(grids[cc] ??= []).push({ code: f.properties.code, name: f.properties.name })
      }
      regions.grids = grids
    })
    return
  }
  await fromGrids()
}

export async function communitiesOf(town: string): Promise<RegionItem[]> {
  if (regions.communities[town]) return regions.communities[town]!
  if (regions.viaApi) {
    const list = (await fromApi(town)) ?? []
    regions.communities[town] = list
    return list
  }
  return []
}
