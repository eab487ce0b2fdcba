/** Small helpers shared by the admin pages: error text, loading, region options, grid options. */
import { ref, type Ref } from 'vue'
import { ApiError } from '@/shared/api'
import { locale } from '../../i18n'
import { half, listGrids, regionTree, type AdminGrid, type RegionNode } from './api'

/** The message of an error in the current language, and its per-field problems. */
export function explain(err: unknown): { message: string; fields: Record<string, string> } {
  if (err instanceof ApiError) {
    const fields: Record<string, string> = {}
    for (const [k, v] of Object.entries(err.fields)) fields[k] = half(String(v), locale.value)
    return { message: half(err.message, locale.value), fields }
  }
  return { message: err instanceof Error ? err.message : String(err), fields: {} }
}

/** Show the server's answer to a form: its per-field problems and its message (see explain). */
export function showProblems(err: unknown, fields: Ref<Record<string, string>>, message: Ref<string>): void {
  const ex = explain(err)
  fields.value = ex.fields
  message.value = ex.message
}

/** Run a page's loading: `error` then says what failed, or nothing once it worked. */
export async function loadOrSay(error: Ref<string>, load: () => Promise<void>): Promise<void> {
  try {
    await load()
    error.value = ''
  } catch (err) {
    error.value = explain(err).message
  }
}

export interface RegionOption {
  code: string
  name: string
  level: string
  label: string
}

const regionOptions = ref<RegionOption[]>([])
let regionsLoading: Promise<void> | null = null

/** Every region of the admin's tree as options, indented by level (loaded once). */
export function useRegionOptions(): typeof regionOptions {
  if (!regionsLoading) {
    regionsLoading = regionTree()
      .then((tree) => {
        const out: RegionOption[] = []
        const walk = (nodes: RegionNode[], depth: number): void => {
          for (const n of nodes) {
            out.push({ code: n.code, name: n.name, level: n.level, label: `${'\u3000'.repeat(depth)}${n.name}` })
            if (n.children?.length) walk(n.children, depth + 1)
          }
        }
        walk(tree, 0)
        regionOptions.value = out
      })
      .catch(() => {
        regionsLoading = null
      })
  }
  return regionOptions
}

const gridOptions = ref<AdminGrid[]>([])
let gridsLoading: Promise<void> | null = null

/** The active grids (code, name, community) for the duty pickers (loaded once, refreshable). */
export function useGridOptions(refresh = false): typeof gridOptions {
  if (!gridsLoading || refresh) {
    gridsLoading = listGrids()
      .then((g) => {
        gridOptions.value = g.items
      })
      .catch(() => {
        gridsLoading = null
      })
  }
  return gridOptions
}
