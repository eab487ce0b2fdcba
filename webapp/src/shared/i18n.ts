/**
 * Words on screen, for both apps: ONE translate function over dictionaries of
 * `key: [中文, English]`, and the labels of the vocabulary (states, actions, roles, ratings,
 * urgencies, sources) as the server sends them in /bootstrap — never retyped here, so a label
 * changed in the domain (server/domain/vocabulary.py) is what both apps show.
 */
import { shallowRef } from 'vue'
import type { Workflow } from './types'

export type Locale = 'zh' | 'en'
export type Dictionary = Record<string, readonly [string, string]>

/** `dict[key]` in `locale`, with `{name}` placeholders filled from `params`; the key if unknown. */
export function translate(dict: Dictionary, locale: Locale, key: string, params?: Record<string, string | number>): string {
  const entry = dict[key]
  let s = entry ? entry[locale === 'zh' ? 0 : 1] : key
  if (params) for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v))
  return s
}

/** A translate function bound to a dictionary and the current locale (read at each call). */
export function translator(dict: Dictionary, locale: () => Locale): (key: string, params?: Record<string, string | number>) => string {
  return (key, params) => translate(dict, locale(), key, params)
}

// --- the vocabulary's labels, from /bootstrap ------------------------------------------------

export type VocabularyKind = 'states' | 'actions' | 'roles' | 'ratings' | 'urgencies' | 'sources' | 'stages' | 'lights' | 'cards' | 'levels'

/** The vocabulary the server sent last (reactive: labels re-render when bootstrap arrives). */
export const vocabulary = shallowRef<Workflow | null>(null)

export function setVocabulary(w: Workflow | null | undefined): void {
  vocabulary.value = w ?? null
}

/** The label of a name (`label('states', 'closed')` → 已结案); the name itself when unknown. */
export function label(kind: VocabularyKind, name: string | null | undefined, locale: Locale = 'zh'): string {
  if (!name) return ''
  const labels = vocabulary.value?.[kind] as Record<string, { zh: string; en: string }> | undefined
  const l = labels?.[name]
  if (!l) return name
  return locale === 'zh' ? l.zh : l.en || l.zh
}
