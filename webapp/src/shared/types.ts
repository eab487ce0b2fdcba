/** Types of the JSON API (docs/api.md). Shared by the field app and the console. */

export type Role = 'grid_worker' | 'dispatcher' | 'handler' | 'supervisor' | 'admin'

export type CaseState =
  | 'reported'
  | 'accepted'
  | 'dispatched'
  | 'in_progress'
  | 'resolved'
  | 'closed'
  | 'rejected'
  | 'suspended'

export type ActionName =
  | 'report'
  | 'self_handle'
  | 'accept'
  | 'reject'
  | 'dispatch'
  | 'sign'
  | 'return'
  | 'resolve'
  | 'verify'
  | 'request_extension'
  | 'decide_extension'
  | 'suspend'
  | 'resume'
  | 'supervise'
  | 'rate'
  | 'reopen'
  | 'comment'
  | 'assign_grid'

export type Rating = 'satisfied' | 'basically_satisfied' | 'unsatisfied'

export interface User {
  id: number
  username: string
  display_name: string
  role: Role
  region_id: number | null
  department_id: number | null
  grid_codes: string[]
}

export interface AuthAnswer {
  user: User
  csrf_token: string
}

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
}

export interface Label {
  zh: string
  en?: string
}

export interface Workflow {
  states: Record<string, Label>
  actions: Record<string, Label>
  rules?: unknown[]
}

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

export interface CaseSummary {
  id: number
  uuid: string
  number: string
  state: CaseState
  version: number
  source?: string
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
  reporter?: PersonRef | null
  caller_name?: string | null
  caller_phone?: string | null
  urgency?: string
  department?: { id: number; name: string } | null
  deadline_at?: string | null
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
}

export interface PhotoInfo {
  uuid: string
  url: string
  thumb_url: string
  width?: number
  height?: number
}

export interface CaseEvent {
  id: number
  uuid: string
  action: ActionName | string
  actor: PersonRef | null
  actor_role: string | null
  from_state: string | null
  to_state: string | null
  created_at: string
  device_time: string | null
  note: string | null
  data: Record<string, unknown> | null
  lon: number | null
  lat: number | null
  photos: PhotoInfo[]
}

export interface CaseDetail {
  case: CaseSummary
  events: CaseEvent[]
  photos: PhotoInfo[]
  allowed_actions: string[]
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
