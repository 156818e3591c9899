/**
 * The OpenAPI documents (docs/api/node-api.yaml, docs/api/relay-api.yaml) and a validator for the
 * subset of OpenAPI 3.0 schema keywords they use. Any other keyword is an error, so the document cannot rely on a
 * rule this validator would silently skip.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

export type Schema = Readonly<Record<string, unknown>>

export interface OpenApiDoc {
  readonly openapi: string
  readonly info: Schema
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>
  readonly components: Readonly<Record<string, Readonly<Record<string, Schema>>>>
  readonly security?: readonly unknown[]
}

export interface Operation {
  readonly operationId?: string
  readonly parameters?: readonly Schema[]
  readonly requestBody?: Schema
  readonly responses: Readonly<Record<string, Schema>>
  readonly 'x-method-not-allowed'?: boolean
}

export const HTTP_METHODS = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
] as const

const SPEC_PATH = new URL('../../docs/api/node-api.yaml', import.meta.url)
/** The relay's document. */
export const RELAY_SPEC_PATH = new URL('../../docs/api/relay-api.yaml', import.meta.url)

/** Load and parse a YAML document (default: the node's). */
export function loadSpec(path: URL = SPEC_PATH): OpenApiDoc {
  return parse(readFileSync(path, 'utf8')) as OpenApiDoc
}

/** Every (method, path, operation) of the document. */
export function operations(doc: OpenApiDoc): { method: string; path: string; op: Operation }[] {
  const out: { method: string; path: string; op: Operation }[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method]
      if (op !== undefined) out.push({ method: method.toUpperCase(), path, op })
    }
  }
  return out
}

const ANNOTATIONS = new Set([
  'description',
  'example',
  'examples',
  'default',
  'format',
  'title',
  'deprecated',
])
const KEYWORDS = new Set([
  '$ref',
  'allOf',
  'anyOf',
  'oneOf',
  'type',
  'nullable',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
])

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** String length as JSON Schema counts it (code points, not UTF-16 units). */
function codePoints(s: string): number {
  return s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length
}

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** Validates JSON values (as `JSON.parse` gives them) against the document's schemas. */
export class SchemaValidator {
  readonly #doc: OpenApiDoc

  constructor(doc: OpenApiDoc) {
    this.#doc = doc
  }

  /** The object a local `$ref` (`#/a/b/c`) points at; throws when it does not resolve. */
  resolve(ref: string): Schema {
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`)
    let node: unknown = this.#doc
    for (const part of ref.slice(2).split('/')) {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~')
      if (!isRecord(node) || !(key in node)) throw new Error(`unresolved $ref ${ref}`)
      node = node[key]
    }
    if (!isRecord(node)) throw new Error(`$ref ${ref} does not point at an object`)
    return node
  }

  /** Follow `$ref`s of a response, parameter or schema object. */
  deref(obj: Schema): Schema {
    let o = obj
    for (let i = 0; typeof o['$ref'] === 'string'; i++) {
      if (i > 32) throw new Error('$ref loop')
      o = this.resolve(o['$ref'])
    }
    return o
  }

  /** Check that a schema uses only supported keywords, recursively (follows $refs once). */
  checkSchema(schema: Schema, where: string, seen = new Set<Schema>()): void {
    if (seen.has(schema)) return
    seen.add(schema)
    for (const key of Object.keys(schema)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key))
        throw new Error(`${where}: unsupported schema keyword '${key}'`)
    }
    if (typeof schema['$ref'] === 'string') {
      const siblings = Object.keys(schema).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k))
      if (siblings.length > 0)
        throw new Error(
          `${where}: $ref with sibling keywords ${siblings.join(', ')} (ignored by OpenAPI)`,
        )
      this.checkSchema(this.resolve(schema['$ref']), schema['$ref'], seen)
      return
    }
    if ('nullable' in schema && !('type' in schema))
      throw new Error(`${where}: nullable without type has no effect`)
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = schema[key]
      if (list === undefined) continue
      if (!Array.isArray(list) || list.length === 0)
        throw new Error(`${where}: ${key} must be a non-empty array`)
      list.forEach((s: unknown, i) => {
        if (!isRecord(s)) throw new Error(`${where}.${key}[${i}] is not a schema`)
        this.checkSchema(s, `${where}.${key}[${i}]`, seen)
      })
    }
    const props = schema['properties']
    if (props !== undefined) {
      if (!isRecord(props)) throw new Error(`${where}: properties must be an object`)
      for (const [name, s] of Object.entries(props)) {
        if (!isRecord(s)) throw new Error(`${where}.${name} is not a schema`)
        this.checkSchema(s, `${where}.${name}`, seen)
      }
    }
    for (const key of ['items', 'additionalProperties'] as const) {
      const s = schema[key]
      if (isRecord(s)) this.checkSchema(s, `${where}.${key}`, seen)
      else if (s !== undefined && typeof s !== 'boolean') throw new Error(`${where}: bad ${key}`)
    }
    const type = schema['type']
    if (
      type !== undefined &&
      (typeof type !== 'string' ||
        !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(type))
    ) {
      throw new Error(`${where}: unknown type ${JSON.stringify(type)}`)
    }
    const pattern = schema['pattern']
    if (pattern !== undefined) {
      if (typeof pattern !== 'string') throw new Error(`${where}: pattern must be a string`)
      new RegExp(pattern, 'u') // throws when invalid
    }
  }

  /** Errors of `value` against `schema` (empty when valid). */
  validate(schema: Schema, value: unknown, at = '$'): string[] {
    if (typeof schema['$ref'] === 'string')
      return this.validate(this.resolve(schema['$ref']), value, at)
    const errors: string[] = []
    const allOf = schema['allOf'] as Schema[] | undefined
    if (allOf !== undefined) for (const s of allOf) errors.push(...this.validate(s, value, at))
    const anyOf = schema['anyOf'] as Schema[] | undefined
    if (anyOf !== undefined && !anyOf.some((s) => this.validate(s, value, at).length === 0)) {
      errors.push(`${at}: matches none of anyOf`)
    }
    const oneOf = schema['oneOf'] as Schema[] | undefined
    if (oneOf !== undefined) {
      const n = oneOf.filter((s) => this.validate(s, value, at).length === 0).length
      if (n !== 1) errors.push(`${at}: matches ${n} of oneOf (exactly 1 required)`)
    }
    if (value === null && schema['nullable'] === true) return errors
    const type = schema['type'] as string | undefined
    const actual = typeOf(value)
    if (type !== undefined && !(actual === type || (type === 'number' && actual === 'integer'))) {
      errors.push(`${at}: expected ${type}, got ${actual}`)
      return errors
    }
    const en = schema['enum'] as unknown[] | undefined
    if (en !== undefined && !en.some((e) => e === value))
      errors.push(`${at}: ${JSON.stringify(value)} not in enum ${JSON.stringify(en)}`)
    if (typeof value === 'number') {
      const min = schema['minimum'] as number | undefined
      const max = schema['maximum'] as number | undefined
      if (min !== undefined && value < min) errors.push(`${at}: ${value} < minimum ${min}`)
      if (max !== undefined && value > max) errors.push(`${at}: ${value} > maximum ${max}`)
    }
    if (typeof value === 'string') {
      const pattern = schema['pattern'] as string | undefined
      if (pattern !== undefined && !new RegExp(pattern, 'u').test(value))
        errors.push(`${at}: '${value}' does not match ${pattern}`)
      const minLength = schema['minLength'] as number | undefined
      const maxLength = schema['maxLength'] as number | undefined
      if (minLength !== undefined && codePoints(value) < minLength)
        errors.push(`${at}: shorter than ${minLength}`)
      if (maxLength !== undefined && codePoints(value) > maxLength)
        errors.push(`${at}: longer than ${maxLength}`)
    }
    if (Array.isArray(value)) {
      const minItems = schema['minItems'] as number | undefined
      const maxItems = schema['maxItems'] as number | undefined
      if (minItems !== undefined && value.length < minItems)
        errors.push(`${at}: fewer than ${minItems} items`)
      if (maxItems !== undefined && value.length > maxItems)
        errors.push(`${at}: more than ${maxItems} items`)
      const items = schema['items'] as Schema | undefined
      if (items !== undefined)
        value.forEach((v, i) => errors.push(...this.validate(items, v, `${at}[${i}]`)))
    }
    if (isRecord(value)) {
      const required = (schema['required'] as string[] | undefined) ?? []
      for (const k of required) if (!(k in value)) errors.push(`${at}: missing required '${k}'`)
      const props = (schema['properties'] as Record<string, Schema> | undefined) ?? {}
      const additional = schema['additionalProperties'] as boolean | Schema | undefined
      for (const [k, v] of Object.entries(value)) {
        const p = props[k]
        if (p !== undefined) errors.push(...this.validate(p, v, `${at}.${k}`))
        else if (additional === false) errors.push(`${at}: unexpected property '${k}'`)
        else if (isRecord(additional)) errors.push(...this.validate(additional, v, `${at}.${k}`))
      }
    }
    return errors
  }
}

/** A response as the checker needs it (the body text may be absent for streams). */
export interface CheckedResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly text?: string
}

/**
 * Checks responses against a document: the status is documented for the operation, documented
 * headers are present and valid, the content type is documented and a JSON body validates (or
 * the body is empty when none is documented). Records each `METHOD path status` it saw.
 */
export function createResponseChecker(doc: OpenApiDoc, validator: SchemaValidator) {
  const exercised = new Set<string>()
  const fail = (message: string): never => {
    throw new Error(message)
  }
  const check = (method: string, path: string, res: CheckedResponse): unknown => {
    const where = `${method} ${path} ${res.status}`
    const op =
      doc.paths[path]?.[method.toLowerCase()] ?? fail(`${method} ${path} is not documented`)
    const documented =
      op.responses[String(res.status)] ??
      fail(`${where} is not documented: ${res.text?.slice(0, 300) ?? ''}`)
    exercised.add(where)
    const response = validator.deref(documented)
    for (const [name, h] of Object.entries((response['headers'] ?? {}) as Record<string, Schema>)) {
      const value = res.headers[name.toLowerCase()]
      if (typeof value !== 'string') fail(`${where}: header ${name} missing`)
      const errors = validator.validate((h['schema'] ?? {}) as Schema, value)
      if (errors.length > 0) fail(`${where}: header ${name}: ${errors.join('; ')}`)
    }
    const content = response['content'] as Record<string, Schema> | undefined
    if (content === undefined) {
      if ((res.text ?? '') !== '') fail(`${where} documents no body`)
      return undefined
    }
    const type = String(res.headers['content-type'] ?? '')
    const media =
      Object.keys(content).find((m) => type.split(';')[0]?.trim().toLowerCase() === m) ??
      fail(`${where}: content type '${type}' not documented`)
    const schema = (content[media]?.['schema'] as Schema | undefined) ?? fail(`${where}: no schema`)
    if (media !== 'application/json') return undefined
    const body = JSON.parse(res.text ?? '') as unknown
    const errors = validator.validate(schema, body)
    if (errors.length > 0)
      fail(
        `${where} does not match its schema: ${errors.join('; ')}: ${res.text?.slice(0, 300) ?? ''}`,
      )
    return body
  }
  return { check, exercised }
}

/** Every documented `METHOD path status` (except 500) that `exercised` does not hold. */
export function unexercised(doc: OpenApiDoc, exercised: ReadonlySet<string>): string[] {
  const missing: string[] = []
  for (const { method, path, op } of operations(doc)) {
    for (const status of Object.keys(op.responses)) {
      const where = `${method} ${path} ${status}`
      if (status !== '500' && !exercised.has(where)) missing.push(where)
    }
  }
  return missing
}
