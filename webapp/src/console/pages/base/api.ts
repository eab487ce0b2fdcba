/**
 * The base-data API (/api/v1/base, issue 16) for the console: typed calls over the shared
 * client, each through `withAuth` (an expired session asks for the password, then carries on).
 * Answers carry masked identity numbers and phones; `reveal` is the only way to the clear value
 * (a reason is required and the server logs it).
 */
import { ApiError, zhPart } from '@/shared/api'
import type { BaseVocabulary, Household, Kind, LevelRequest, Organisation, Place, ReadRow, Resident, TagBrief, Visit } from '@/shared/base'
import { api, withAuth } from '../../session'

export interface Paged<T> {
  items: T[]
  next_cursor?: string | null
}

type Query = Record<string, string | number | boolean | undefined | null>

async function get<T>(path: string, query?: Query): Promise<T> {
  return withAuth(async () => (await api.request<T>('GET', path, { query })).data)
}

async function send<T>(method: string, path: string, json: unknown): Promise<T> {
  return withAuth(async () => (await api.request<T>(method, path, { json })).data)
}

/** The Chinese half of an error, and each field's problem (the console's base pages are Chinese). */
export function explain(err: unknown): { message: string; fields: Record<string, string>; code: string } {
  if (err instanceof ApiError) {
    const fields: Record<string, string> = {}
    for (const [k, v] of Object.entries(err.fields)) fields[k] = zhPart(String(v))
    return { message: err.zh, fields, code: err.code }
  }
  return { message: err instanceof Error ? zhPart(err.message) : String(err), fields: {}, code: '' }
}

export interface ResidentDetail {
  resident: Resident
  residences: Array<{ household_id: number; started_on: string; ended_on: string | null; current: boolean }>
  events: Array<{ id: number; kind: string; occurred_on: string; note: string | null; actor_id: number | null; household_id: number | null }>
  tags?: Array<TagBrief & { id: number; since?: string | null; ended_at?: string | null; cycle?: string | null }>
}

export const listResidents = (q: Query) => get<Paged<Resident>>('/base/residents', q)
export const residentDetail = (id: number) => get<ResidentDetail>(`/base/residents/${id}`)
export const updateResident = (id: number, body: Record<string, unknown>) => send<{ resident: Resident }>('PATCH', `/base/residents/${id}`, body)
export const reveal = (id: number, reason: string, fields: string[]) =>
  send<{ id_number?: string; phone?: string }>('POST', `/base/residents/${id}/reveal`, { reason, fields })
export const addTag = (id: number, body: Record<string, unknown>) => send<{ tag: TagBrief }>('POST', `/base/residents/${id}/tags`, body)
export const requestLevel = (tagId: number, toLevel: number, reason: string) =>
  send<{ request: LevelRequest }>('POST', `/base/tags/${tagId}/level-requests`, { to_level: toLevel, reason })
export const levelRequests = (status = 'pending') => get<Paged<LevelRequest>>('/base/level-requests', { status })
export const decideLevel = (id: number, approve: boolean, note: string) =>
  send<{ request: LevelRequest }>('POST', `/base/level-requests/${id}/decide`, { approve, note })
export const vocabulary = () => get<BaseVocabulary>('/base/vocabulary')
/** The key-group kinds (with the vocabulary: the sensitive ones only for roles that may see any). */
export const kinds = async (): Promise<{ items: Kind[] }> => ({ items: (await vocabulary()).kinds })
export const listPlaces = (q: Query) => get<Paged<Place>>('/base/places', q)
export const placeDetail = (id: number) => get<{ place: Place; children: Place[]; households: Household[] }>(`/base/places/${id}`)
export const householdDetail = (id: number) => get<{ household: Household; members: Resident[] }>(`/base/households/${id}`)
export const listOrganisations = (q: Query) => get<Paged<Organisation>>('/base/organisations', q)
export const createOrganisation = (body: Record<string, unknown>) => send<{ organisation: Organisation }>('POST', '/base/organisations', body)
export const listVisits = (q: Query) => get<Paged<Visit>>('/base/visits', q)
export const readLog = (q: Query) => get<Paged<ReadRow>>('/base/reads', q)
export const overview = (q: Query) => get<Record<string, unknown>>('/base/overview', q)
