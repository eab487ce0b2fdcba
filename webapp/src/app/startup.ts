/** Start-up: open the database and the outbox, and show what is on the phone. */
import { setVocabulary } from '@/shared/i18n'
import { kvGet, openFieldDB, type AppDB } from './db'
import { Outbox, tabChannel } from './outbox'
import { sortCases, upsertCase } from './cases'
import { loadBase } from './base'
import { initPatrol, loadCheckIns } from './fieldwork'
import { api, markExpired, markSessionKnown } from './session'
import { setHandles, state } from './store'
import { baseDelayMs, onOutboxChange, pieceBytes, reloadOutbox } from './sync'

/** Open the database and show what is on the phone; nothing here needs the network. */
export async function init(): Promise<void> {
  let db: AppDB
  try {
    db = await openFieldDB({
      onBlocking: () => {
        state.dbBlocked = true
      },
    })
  } catch (err) {
    state.dbError = `无法打开本机存储：${String((err as Error)?.message ?? err)}。请关闭无痕模式或检查浏览器设置。`
    state.ready = true
    markSessionKnown()
    return
  }
  const outbox = new Outbox({
    db,
    api,
    userId: () => state.session?.user.id ?? null,
    pieceBytes,
    baseDelayMs: baseDelayMs(),
    onChange: onOutboxChange,
    onUnauthorized: () => markExpired(),
    onCase: (c) => void upsertCase(c),
    // every open tab shows the outbox as it is, not only the tab that sent it
    channel: tabChannel() ?? undefined,
  })
  setHandles(db, outbox)
  const [session, bootstrap, grids, cases, meta] = await Promise.all([
    kvGet(db, 'session'),
    kvGet(db, 'bootstrap'),
    kvGet(db, 'grids'),
    db.getAll('cases'),
    kvGet(db, 'casesMeta'),
  ])
  state.session = session ?? null
  state.sessionExpired = Boolean(session?.expired)
  if (session && bootstrap && bootstrap.user.id === session.user.id) {
    state.bootstrap = bootstrap
    setVocabulary(bootstrap.workflow)
  }
  if (session) state.grids = grids?.collection ?? null
  state.cases = session && meta?.userId === session.user.id ? sortCases(cases) : []
  state.casesFetchedAt = meta?.fetchedAt ?? 0
  await outbox.recover()
  await outbox.purgeSent()
  await reloadOutbox()
  await loadBase()
  // an open patrol comes back with its buffered points (and keeps recording)
  await initPatrol()
  await loadCheckIns()
  state.ready = true
  if (state.session) markSessionKnown()
}
