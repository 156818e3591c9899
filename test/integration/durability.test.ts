/** An acknowledged publish survives kill -9, and the database stays consistent (issue #2). */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { createMessageStore, openDatabase } from '../../src/store/index.js'
import { createNode } from '../../src/node/index.js'
import { fromPlainJson } from '../../src/codec/index.js'
import { runTs, tempDir } from '../helpers/process.js'

test('every acknowledged publish survives kill -9 mid-load; the chain stays unbroken', async (t) => {
  const dataDir = tempDir(t, 'egregore-durable')
  const child = runTs(t, 'test/helpers/publish-child.ts', [dataDir])
  const acked = new Map<number, string>()
  const target = 3000
  await new Promise<void>((resolve, reject) => {
    child.child.stdout.on('data', () => undefined)
    void child.exited.then((code) =>
      reject(new Error(`child exited early (${String(code)}): ${child.output().stderr}`)),
    )
    const check = (): void => {
      for (const line of child.output().stdout.split('\n')) {
        const m = /^ack (\d+) ([0-9a-f]{64})$/.exec(line)
        if (m !== null) acked.set(Number(m[1]), m[2] as string)
      }
      if (acked.size >= target) resolve()
    }
    child.child.stdout.on('data', check)
  })
  child.child.kill('SIGKILL')
  assert.equal(await child.exited, 'SIGKILL')

  const db = openDatabase(join(dataDir, 'egregore.db'))
  const store = createMessageStore(db)
  assert.equal(store.integrityCheck(), 'ok')
  const rows = db
    .prepare('SELECT author, sequence, hash, previous, chain_valid FROM messages ORDER BY sequence')
    .all() as {
    sequence: number
    hash: string
    previous: string | null
    chain_valid: number
  }[]
  const bySeq = new Map(rows.map((r) => [r.sequence, r]))
  for (const [seq, hash] of acked)
    assert.equal(bySeq.get(seq)?.hash, hash, `acknowledged message ${seq} is missing`)
  rows.forEach((r, i) => {
    assert.equal(r.sequence, i + 1, 'sequences are gap-free')
    assert.equal(
      r.previous,
      i === 0 ? null : rows[i - 1]!.hash,
      `message ${r.sequence} links to its predecessor`,
    )
    assert.equal(r.chain_valid, 1)
  })
  db.close()

  // The node reopens on the same data and continues the same chain.
  const node = await createNode({ dataDir, passphrase: false, verifyThreads: 1 })
  const next = await node.engine.publish(fromPlainJson({ type: 'note', text: 'after the crash' }))
  assert.equal(next.message.sequence, rows.length + 1)
  assert.equal(next.message.previous, rows.at(-1)!.hash)
  await node.stop() // before the temp dir's removal (registered first, so it runs first)
})
