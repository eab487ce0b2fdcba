/** Display helpers: times in Asia/Shanghai. (Labels of states, actions… are the server's: @/shared/i18n.) */
const TZ = 'Asia/Shanghai'

/** The year, month, day, hour and minute of a moment in Asia/Shanghai, as two-digit strings. */
export function shanghaiParts(d: Date): Record<string, string> {
  const out: Record<string, string> = {}
  try {
    for (const p of new Intl.DateTimeFormat('zh-CN', {
      timeZone: TZ,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(d)) out[p.type] = p.value
  } catch {
    out.year = String(d.getFullYear())
  }
  return out
}

/** "11-23 14:05" this year, else "2025-11-23 14:05" (Asia/Shanghai). */
export function formatTime(iso: string | number | null | undefined, withYear = false): string {
  if (iso == null || iso === '') return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = shanghaiParts(d)
  const thisYear = shanghaiParts(new Date()).year
  const date = withYear || p.year !== thisYear ? `${p.year}-${p.month}-${p.day}` : `${p.month}-${p.day}`
  return `${date} ${p.hour}:${p.minute}`
}

/** "刚刚", "5 分钟前", "3 小时前", else the time. */
export function formatAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return ''
  const s = Math.round((now - ms) / 1000)
  if (s < 60) return '刚刚'
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`
  if (s < 86400) return `${Math.floor(s / 3600)} 小时前`
  return formatTime(ms)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}
