/**
 * Publish-time content rules (PROTOCOL.md §5.5, §1.8.3): content must be an object with a
 * non-empty string `type`; the seven types upstream HEAD validates must satisfy HEAD's schemas,
 * so that what we publish crosses HEAD nodes.
 */
import type { JsonObject, JsonValue } from '../codec/index.js'
import { EgregoreError } from '../errors.js'
import { isObject } from './message.js'

type FieldRule = (v: JsonValue | undefined) => boolean

const nonEmpty: FieldRule = (v) => typeof v === 'string' && v.length > 0
const strOrNull: FieldRule = (v) => v === null || typeof v === 'string'
const hash: FieldRule = (v) => typeof v === 'string' && /^[a-f0-9]{64}$/.test(v)
const strArray: FieldRule = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')
const unit: FieldRule = (v) => v === null || (isNumber(v) && Number(v) >= 0 && Number(v) <= 1)
const objOrNull: FieldRule = (v) => v === null || isObject(v)
const execContext: FieldRule = (v) =>
  v === null || v === 'informational' || v === 'advisory' || v === 'approved_directive'
const dateTimeOrNull: FieldRule = (v) =>
  v === null ||
  (typeof v === 'string' &&
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v))
const format: FieldRule = (v) => v === null || v === 'plain' || v === 'markdown' || v === 'html'

function isNumber(v: JsonValue | undefined): boolean {
  return typeof v === 'number' || typeof v === 'bigint'
}

interface TypeSchema {
  readonly required: Readonly<Record<string, FieldRule>>
  readonly optional: Readonly<Record<string, FieldRule>>
}

const SCHEMAS: Readonly<Record<string, TypeSchema>> = {
  insight: {
    required: { title: nonEmpty, observation: nonEmpty },
    optional: {
      context: strOrNull,
      evidence: strOrNull,
      guidance: strOrNull,
      confidence: unit,
      tags: strArray,
    },
  },
  endorsement: { required: { message_hash: hash }, optional: { comment: strOrNull } },
  dispute: {
    required: { message_hash: hash, reason: nonEmpty },
    optional: { evidence: strOrNull },
  },
  query: {
    required: { question: nonEmpty },
    optional: { tags: strArray, execution_context: execContext },
  },
  response: {
    required: { query_hash: hash, answer: nonEmpty },
    optional: { confidence: unit, execution_context: execContext },
  },
  profile: {
    required: { name: nonEmpty },
    optional: {
      description: strOrNull,
      capabilities: strArray,
      broker: objOrNull,
      valid_from: dateTimeOrNull,
      valid_until: dateTimeOrNull,
    },
  },
  message: {
    required: { text: nonEmpty },
    optional: { title: strOrNull, format, metadata: objOrNull },
  },
}

/**
 * Check content for publishing. Throws `INVALID_CONTENT` naming the first offending field.
 * Unknown types pass with only the `type` check, as on HEAD.
 */
export function checkPublishableContent(content: JsonValue): asserts content is JsonObject {
  if (!isObject(content) || typeof content['type'] !== 'string' || content['type'] === '') {
    throw new EgregoreError(
      'INVALID_CONTENT',
      "content must be a JSON object with a non-empty string 'type' field",
    )
  }
  const type = content['type']
  // Own properties only: type and field names such as `constructor` are plain data.
  if (!Object.hasOwn(SCHEMAS, type)) return
  const schema = SCHEMAS[type] as TypeSchema
  for (const [field, rule] of Object.entries(schema.required)) {
    if (!rule(content[field])) throw invalidField(type, field, content[field] === undefined)
  }
  for (const field of Object.keys(content)) {
    if (field === 'type' || Object.hasOwn(schema.required, field)) continue
    const rule = Object.hasOwn(schema.optional, field) ? schema.optional[field] : undefined
    if (rule === undefined) {
      throw new EgregoreError('INVALID_CONTENT', `${type} content does not allow field '${field}'`)
    }
    if (!rule(content[field])) throw invalidField(type, field, false)
  }
}

function invalidField(type: string, field: string, missing: boolean): EgregoreError {
  return new EgregoreError(
    'INVALID_CONTENT',
    missing
      ? `${type} content requires field '${field}'`
      : `${type} content has an invalid '${field}'`,
  )
}

/**
 * Floats upstream nodes may misread (§1.4.4): 16 or more significant digits, or a decimal
 * exponent beyond ±22. Returns one warning per such value (messages carrying them are refused
 * by HEAD nodes as hash mismatches).
 */
export function floatInteropWarnings(content: JsonValue): string[] {
  const warnings: string[] = []
  const walk = (v: JsonValue, path: string): void => {
    if (typeof v === 'number' && v !== 0) {
      // Shortest digits d (n of them) with v = d × 10^e for the integer d: upstream's float
      // parser is exact only for n ≤ 15 and |e| ≤ 22 (the fast path of its algorithm).
      const [mantissa = '', exp = '0'] = Math.abs(v).toExponential().split('e')
      const digits = mantissa.replace('.', '').length
      const integerExponent = Number(exp) - (digits - 1)
      if (digits >= 16 || Math.abs(integerExponent) > 22) {
        warnings.push(
          `float at ${path || '/'} (${v}) may be misread by upstream nodes (PROTOCOL.md §1.4.4); send it as a string to be safe`,
        )
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${i}`))
    else if (isObject(v)) for (const k of Object.keys(v)) walk(v[k] as JsonValue, `${path}/${k}`)
  }
  walk(content, '')
  return warnings
}
