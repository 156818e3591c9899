// Worker thread for the SSE fan-out benchmark (plain JavaScript: Node 20 cannot load TypeScript
// in workers). Opens the subscribers, counts events, and measures delivery latency from the
// absolute send time the publisher wrote into each message.
import { parentPort, workerData } from 'node:worker_threads'
import { request } from 'undici'

const { port, subscribers, timed, messages } = workerData
const absoluteNow = () => performance.timeOrigin + performance.now()
const latencies = []
const received = new Array(subscribers).fill(0)
let finished = 0
const marker = Buffer.from('\ndata:{')
const sentKey = '"sent_at":"'

await Promise.all(
  Array.from({ length: subscribers }, async (_, s) => {
    const res = await request(`http://127.0.0.1:${port}/v1/events`, { method: 'GET' })
    let pending = Buffer.alloc(0)
    res.body.on('data', (chunk) => {
      const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      let pos = 0
      for (;;) {
        const at = data.indexOf(marker, pos)
        if (at < 0) {
          pos = Math.max(pos, data.length - marker.length + 1) // a marker may straddle chunks
          break
        }
        const end = data.indexOf('\n', at + marker.length)
        if (end < 0) {
          pos = at // incomplete event: finish it with the next chunk
          break
        }
        if (s < timed) {
          const line = data.toString('utf8', at, end)
          const k = line.indexOf(sentKey)
          if (k >= 0) {
            const sent = Number(
              line.slice(k + sentKey.length, line.indexOf('"', k + sentKey.length)),
            )
            if (sent > 0) latencies.push(absoluteNow() - sent) // 0: a warm-up message
          }
        }
        pos = end
        if (++received[s] === messages && ++finished === subscribers) {
          parentPort.postMessage({ latencies, received })
        }
      }
      pending = data.subarray(pos)
    })
  }),
)
parentPort.postMessage({ ready: true })
