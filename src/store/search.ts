/**
 * The search query language of PROTOCOL.md §6.3, compiled to FTS5: all terms must match,
 * "quoted phrases" keep word order, a trailing `*` makes a prefix term. Every term is passed to
 * FTS5 as a quoted string, so no user input can produce an FTS5 syntax error.
 */

/** Compile user search text to an FTS5 MATCH expression; `null` when there is nothing to search. */
export function toFtsQuery(text: string): string | null {
  const parts: string[] = []
  // NUL would end the string inside SQLite's FTS5 parser; it separates terms like whitespace.
  const s = text.replace(/\0/g, ' ').trim()
  let i = 0
  while (i < s.length) {
    const c = s[i] as string
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '"') {
      // A phrase runs to the next quote; an unbalanced quote closes at the end of the query.
      const end = s.indexOf('"', i + 1)
      const phrase = s.slice(i + 1, end < 0 ? s.length : end)
      i = end < 0 ? s.length : end + 1
      const prefix = s[i] === '*'
      if (prefix) i++
      pushTerm(parts, phrase, prefix)
      continue
    }
    let j = i
    while (j < s.length && !/\s/.test(s[j] as string) && s[j] !== '"') j++
    const word = s.slice(i, j)
    i = j
    const prefix = word.endsWith('*')
    pushTerm(parts, prefix ? word.replace(/\*+$/, '') : word, prefix)
  }
  return parts.length === 0 ? null : parts.join(' ')
}

function pushTerm(parts: string[], term: string, prefix: boolean): void {
  if (term.trim() === '') return // `""`, `" "` and `""*` carry no words

  parts.push(`"${term.replace(/"/g, '""')}"${prefix ? '*' : ''}`)
}
