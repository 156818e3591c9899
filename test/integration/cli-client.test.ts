/** The client subcommands against a real node: publish, feed, search, status, peers, follows. */
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { runTs, startTestNodeIn } from '../helpers/process.js'

async function run(
  t: TestContext,
  api: string,
  args: string[],
): Promise<{ code: number | string; out: string; err: string }> {
  const proc = runTs(t, 'src/bin/egregore.ts', args, { EGREGORE_API: api })
  const code = await proc.exited
  const { stdout, stderr } = proc.output()
  return { code, out: stdout, err: stderr }
}

test('client commands drive a running node and report its errors', async (t) => {
  const node = await startTestNodeIn(t, { version: '9.9.9' })
  const api = `http://127.0.0.1:${node.httpPort()}`

  const published = await run(t, api, [
    'publish',
    '{"type":"note","title":"Gossip","text":"feeds replicate by gossip","n":18446744073709551615}',
  ])
  assert.equal(published.code, 0, published.err)
  const m = /^published #1 ([0-9a-f]{64})$/.exec(published.out.trim())
  assert.ok(m, published.out)
  const stored = node.store.messageByHash(m[1] as string)
  assert.ok(
    stored?.wireText.includes('"n":18446744073709551615'),
    'a 64-bit integer survives the CLI',
  )

  const status = await run(t, api, ['status'])
  assert.equal(status.code, 0)
  assert.match(status.out, /^version\s+9\.9\.9$/m)
  assert.match(status.out, /^message_count\s+1$/m)

  const feed = await run(t, api, ['feed', '--include-self'])
  assert.match(feed.out, /#1 {2}note: Gossip/)
  const json = await run(t, api, ['feed', '--include-self', '--json'])
  assert.match(json.out, /"n": 18446744073709551615/)

  const search = await run(t, api, ['search', 'replicate', 'goss*'])
  assert.match(search.out, /note: Gossip/)

  assert.equal((await run(t, api, ['peers', 'add', '127.0.0.1:7655'])).code, 0)
  assert.match((await run(t, api, ['peers'])).out, /127\.0\.0\.1:7655\s+manual/)
  assert.equal((await run(t, api, ['follow', node.identity.id])).code, 0)
  assert.equal((await run(t, api, ['follows'])).out.trim(), node.identity.id)

  const bad = await run(t, api, ['publish', '{"no_type":true}'])
  assert.equal(bad.code, 1)
  assert.match(bad.err, /INVALID_CONTENT/)
  const badJson = await run(t, api, ['publish', '{oops'])
  assert.equal(badJson.code, 2)
  const unreachable = await run(t, 'http://127.0.0.1:1', ['status'])
  assert.equal(unreachable.code, 1)
  assert.match(unreachable.err, /cannot reach the node/)
})
