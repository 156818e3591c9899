/** The client subcommands: publish, feed, search, status, peers, follow(s)/unfollow, relay. */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseJson, writeCanonical } from '../codec/index.js'
import { EgregoreError } from '../errors.js'
import { callApi, printFields, printJson, printMessages, type ClientOptions } from './client.js'
import { registerRelayCommands } from './relay-commands.js'

interface Common {
  api?: string
  apiToken?: string
  json?: boolean
}

function clientOptions(o: Common): ClientOptions {
  const token = o.apiToken ?? process.env['EGREGORE_API_TOKEN']
  return {
    api: o.api ?? process.env['EGREGORE_API'] ?? 'http://127.0.0.1:7654',
    json: o.json === true,
    ...(token === undefined ? {} : { token }),
  }
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'node API base URL (default: http://127.0.0.1:7654 or EGREGORE_API)')
    .option('--api-token <token>', 'bearer token (or EGREGORE_API_TOKEN)')
    .option('--json', 'print the response data as JSON')
}

const enc = encodeURIComponent

export function registerClientCommands(program: Command): void {
  withCommon(program.command('status').description('show a running node’s status')).action(
    async (o: Common) => {
      const c = clientOptions(o)
      const { data } = await callApi(c, 'GET', '/v1/status')
      if (c.json) printJson(data)
      else printFields(data)
    },
  )

  withCommon(
    program
      .command('publish')
      .description('publish content: a JSON object with a "type", as an argument or "-" for stdin')
      .argument(
        '<content>',
        'JSON content, e.g. \'{"type":"note","text":"hello"}\', or - to read stdin',
      ),
  ).action(async (content: string, o: Common) => {
    const c = clientOptions(o)
    const text = content === '-' ? readFileSync(0, 'utf8') : content
    let value
    try {
      value = parseJson(text)
    } catch (err) {
      throw new EgregoreError(
        'CONFIG_ERROR',
        `content is not valid JSON: ${(err as Error).message}`,
      )
    }
    const { data, metadata } = await callApi(
      c,
      'POST',
      '/v1/publish',
      `{"content":${writeCanonical(value)}}`,
    )
    if (c.json) return printJson(data)
    const m = data as { sequence?: unknown; hash?: unknown }
    console.log(`published #${String(m.sequence)} ${String(m.hash)}`)
    const warnings = (metadata as { warnings?: unknown } | undefined)?.warnings
    if (Array.isArray(warnings)) for (const w of warnings) console.error(`warning: ${String(w)}`)
  })

  withCommon(
    program
      .command('feed')
      .description('list messages, newest first')
      .option('--author <id>', 'only this author')
      .option('--type <type>', 'only this content type')
      .option('--limit <n>', 'page size (max 200)', '20')
      .option('--offset <n>', 'skip this many', '0')
      .option('--include-self', 'include our own messages'),
  ).action(
    async (
      o: Common & {
        author?: string
        type?: string
        limit: string
        offset: string
        includeSelf?: boolean
      },
    ) => {
      const c = clientOptions(o)
      const q = new URLSearchParams({ limit: o.limit, offset: o.offset })
      if (o.type !== undefined) q.set('content_type', o.type)
      if (o.author === undefined && o.includeSelf === true) q.set('include_self', 'true')
      const path =
        o.author === undefined
          ? `/v1/feed?${q.toString()}`
          : `/v1/feed/${enc(o.author)}?${q.toString()}`
      const { data } = await callApi(c, 'GET', path)
      if (c.json) printJson(data)
      else printMessages(data)
    },
  )

  withCommon(
    program
      .command('search')
      .description('full-text search: all words must match; "quoted phrases"; prefix*')
      .argument('<query...>', 'search terms')
      .option('--type <type>', 'only this content type')
      .option('--limit <n>', 'page size (max 200)', '20'),
  ).action(async (terms: string[], o: Common & { type?: string; limit: string }) => {
    const c = clientOptions(o)
    const q = new URLSearchParams({ q: terms.join(' '), limit: o.limit })
    if (o.type !== undefined) q.set('content_type', o.type)
    const { data } = await callApi(c, 'GET', `/v1/insights/search?${q.toString()}`)
    if (c.json) printJson(data)
    else printMessages(data)
  })

  const peers = withCommon(
    program.command('peers').description('list gossip peers; "peers add|remove <host:port>"'),
  )
  peers.action(async (o: Common) => {
    const c = clientOptions(o)
    const { data } = await callApi(c, 'GET', '/v1/peers')
    if (c.json) return printJson(data)
    const list = (data ?? []) as { address: string; source: string; public_id: string | null }[]
    if (list.length === 0) console.log('(no peers)')
    for (const p of list)
      console.log(`${p.address.padEnd(28)} ${p.source.padEnd(7)} ${p.public_id ?? '-'}`)
  })
  withCommon(peers.command('add').argument('<address>', 'host:port')).action(
    async (address: string, o: Common) => {
      await callApi(clientOptions(o), 'POST', '/v1/peers', JSON.stringify({ address }))
      console.log(`added ${address}`)
    },
  )
  withCommon(peers.command('remove').argument('<address>', 'host:port')).action(
    async (address: string, o: Common) => {
      await callApi(clientOptions(o), 'DELETE', `/v1/peers/${enc(address)}`)
      console.log(`removed ${address}`)
    },
  )

  withCommon(program.command('follows').description('list followed authors')).action(
    async (o: Common) => {
      const c = clientOptions(o)
      const { data } = await callApi(c, 'GET', '/v1/follows')
      if (c.json) return printJson(data)
      const list = (data ?? []) as { author: string }[]
      if (list.length === 0) console.log('(following nobody: every feed is replicated)')
      for (const f of list) console.log(f.author)
    },
  )
  withCommon(
    program.command('follow').description('follow an author').argument('<id>', '@<base64>.ed25519'),
  ).action(async (id: string, o: Common) => {
    await callApi(clientOptions(o), 'POST', `/v1/follows/${enc(id)}`)
    console.log(`following ${id}`)
  })
  withCommon(
    program
      .command('unfollow')
      .description('unfollow an author')
      .argument('<id>', '@<base64>.ed25519'),
  ).action(async (id: string, o: Common) => {
    await callApi(clientOptions(o), 'DELETE', `/v1/follows/${enc(id)}`)
    console.log(`unfollowed ${id}`)
  })

  registerRelayCommands(program)
}
