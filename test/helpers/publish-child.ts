/**
 * Child process for the durability test: opens a node on argv[2] and publishes forever with 16
 * concurrent callers, printing `ack <sequence> <hash>` for each publish after it resolves.
 */
import { fromPlainJson } from '../../src/codec/index.js'
import { createNode } from '../../src/node/index.js'

const node = await createNode({ dataDir: process.argv[2] as string, passphrase: false })
let n = 0
const caller = async (): Promise<void> => {
  for (;;) {
    const i = n++
    const r = await node.engine.publish(
      fromPlainJson({ type: 'note', text: `durable message ${i}`, i }),
    )
    process.stdout.write(`ack ${r.message.sequence} ${r.message.hash}\n`)
  }
}
await Promise.all(Array.from({ length: 16 }, caller))
