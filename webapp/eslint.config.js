// ESLint for the web apps (flat config): JavaScript's, typescript-eslint's and eslint-plugin-vue's
// recommended rules. Layout is not linted (no Prettier either): the code's present formatting
// stays as it is, so only the `vue/` rules about meaning and safety are on.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import vue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// eslint-plugin-vue's layout rules (attribute per line, indentation …), off: see above
const vueLayoutOff = Object.fromEntries(
  Object.entries(vue.rules)
    .filter(([, rule]) => rule.meta?.type === 'layout')
    .map(([name]) => [`vue/${name}`, 'off']),
)

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  vue.configs['flat/recommended'],
  { rules: vueLayoutOff },
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // an unused parameter is spelled _name, as tsconfig's noUnusedParameters accepts
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // two one-word components that no HTML element will ever be called
      'vue/multi-word-component-names': ['error', { ignores: ['Modal', 'Photo'] }],
    },
  },
  {
    // TypeScript checks names itself (and knows ambient ones such as GeoJSON)
    files: ['**/*.ts', '**/*.vue'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['*.config.ts', '*.config.js', 'build/**'],
    languageOptions: { globals: { ...globals.node } },
  },
)
