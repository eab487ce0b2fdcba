/** Types of the JSON API (docs/api.md). Shared by the field app and the console. */

import type { components } from './api-schema'
import type { ActionName, CaseState, RatingName, RoleName, SourceName, UrgencyName } from './vocabulary'

/** The answer and body models of the OpenAPI document (generated: api-schema.ts). */
type Schemas = components['schemas']

export type { ActionName, CaseState }
export type Role = RoleName
export type Rating = RatingName
export type Source = SourceName
export type Urgency = UrgencyName

export type User = Schemas['AuthUser']
export type AuthAnswer = Schemas['SignedIn']

export interface Category {
  id: number
  code: string
  name: string
  major_code: string
  major_name: string
  limit_value?: number | null
  limit_unit?: string | null
  urgent_hours?: number | null
  default_department_id?: number | null
  active: boolean
}

export interface Department {
  id: number
  code: string
  name: string
  /** The command centre the department belongs to (null: every centre's). */
  centre_id?: number | null
}

/** A command centre (DESIGN §9): a city, county or town with dispatchers. */
export type CentreRef = Schemas['CentreRef']

/** A name's labels, from the server's vocabulary (server/domain/vocabulary.py). */
export type Label = Schemas['Label']
/** The vocabulary with its labels and the workflow table, as /bootstrap sends it. */
export type Workflow = Schemas['Workflow']
export type RuleRow = Schemas['RuleRow']

export interface ClientConfig {
  basemap_url: string
  basemap_attribution: string
  timezone: string
  max_photos: number
  max_upload_bytes: number
  locate_tolerance_m: number
}

export interface Bootstrap {
  user: User
  csrf_token: string
  categories: Category[]
  departments: Department[]
  workflow: Workflow
  config: ClientConfig
}

export interface Ref {
  id: number
  code?: string
  name: string
}

export interface PersonRef {
  id: number
  display_name: string
}

export type LocationStatus = 'inside' | 'nearest' | 'outside' | 'none'

/** The stage a case is in, its clock, traffic light and 督办 card (docs/workflow.md, "Stages"). */
export type CaseStage = Schemas['CaseStage']

export interface CaseSummary {
  id: number
  uuid: string
  number: string
  state: CaseState
  version: number
  source?: Source
  category: { id: number; code: string; name: string } | null
  description: string
  address?: string | null
  lon: number | null
  lat: number | null
  accuracy_m?: number | null
  location_status?: LocationStatus
  grid: { id: number; code: string; name: string } | null
  community?: Ref | null
  town?: Ref | null
  /** The command centre holding the case now. */
  centre?: CentreRef | null
  /** Departments the case was copied to (抄告). */
  copied_departments?: Array<{ id: number; name: string }>
  /** The centres I may devolve it to (when devolve is offered). */
  centres_below?: CentreRef[]
  reporter?: PersonRef | null
  caller_name?: string | null
  caller_phone?: string | null
  urgency?: Urgency
  department?: { id: number; name: string } | null
  deadline_at?: string | null
  /** A deadline set from outside (a 12345 ticket's, a leader's): overrides the limit. */
  fixed_deadline_at?: string | null
  /** null while suspended and once finished. */
  stage?: CaseStage | null
  overdue?: boolean
  time_left_hours?: number | null
  self_handled?: boolean
  pending_extension?: boolean | null
  last_rating?: Rating | null
  duplicate_of?: number | null
  /** The merged-into case's number (what people read; `duplicate_of` is its id). */
  duplicate_of_number?: string | null
  photo_count?: number
  thumb_url?: string | null
  reported_at?: string
  created_at: string
  updated_at: string
  /** What I may do on it now (the server's policy); absent on a case only known locally. */
  allowed_actions?: ActionName[]
  /** For each state an allowed action leads to, what I may do there (for queued actions). */
  allowed_next?: Partial<Record<CaseState, ActionName[]>>
}

export type PhotoInfo = Schemas['Photo']
export type CaseEvent = Schemas['Event']

export interface CaseDetail {
  case: CaseSummary
  events: CaseEvent[]
  photos: PhotoInfo[]
  allowed_actions: ActionName[]
  duplicates: CaseSummary[]
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
  counts?: Record<string, number>
}

export interface ActionAnswer {
  case: CaseSummary
  event: CaseEvent
}

export interface UploadState {
  uuid: string
  received_bytes: number
  total_bytes?: number
  status: 'uploading' | 'ready' | string
  width?: number
  height?: number
  url?: string
  thumb_url?: string
}

/** Body of POST /cases. */
export interface NewCase {
  uuid: string
  category_id: number
  description: string
  lon?: number | null
  lat?: number | null
  accuracy_m?: number | null
  address?: string
  photos: string[]
  device_time: string
  urgency?: 'normal' | 'urgent'
  self_handle?: boolean
}

/** Body of POST /cases/{id}/actions. */
export interface NewAction {
  uuid: string
  action: ActionName
  version?: number
  note?: string
  reason?: string
  passed?: boolean
  rating?: Rating
  hours?: number
  days?: number
  photos?: string[]
  device_time: string
  lon?: number
  lat?: number
}

/** Minimal GeoJSON for the grids layer. */
export type Position = [number, number] | number[]
export type PolygonCoords = Position[][]
export interface GridProperties {
  id: number
  code: string
  name: string
  kind?: string
  community_code?: string
  community_name?: string
  households?: number | null
}
export interface GridFeature {
  type: 'Feature'
  id?: number | string
  properties: GridProperties
  geometry:
    | { type: 'Polygon'; coordinates: PolygonCoords }
    | { type: 'MultiPolygon'; coordinates: PolygonCoords[] }
    | null
}
export interface GridCollection {
  type: 'FeatureCollection'
  features: GridFeature[]
}

/** GET /base/addresses: a place found by words, building/room or 门牌, with its grid. */
export interface AddressHit {
  place: {
    id: number
    kind: 'estate' | 'building' | 'unit' | 'room'
    kind_label: string
    name: string
    address: string
    full_address: string
    lon: number | null
    lat: number | null
  }
  grid: { code: string; name: string } | null
  community: { id: number; code: string; name: string } | null
  town: { id: number; code: string; name: string } | null
}
