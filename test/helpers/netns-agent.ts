/**
 * Run inside a network namespace (`ip netns exec NS node --import tsx netns-agent.ts`): reads one
 * JSON request per stdin line, `{"id","port","method","path","body"?}`, sends it to
 * 127.0.0.1:<port> there, and prints `{"id","status","text"}` (or `{"id","error"}`) on stdout.
 */
import { request } from 'node:http'
import { createInterface } from 'node:readline'

interface AgentRequest {
  readonly id: number
  readonly port: number
  readonly method: string
  readonly path: string
  readonly body?: string
}

function forward(r: AgentRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: r.port,
        method: r.method,
        path: r.path,
        agent: false,
        timeout: 5000,
        headers:
          r.body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(r.body)
  })
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const r = JSON.parse(line) as AgentRequest
  forward(r).then(
    (res) => console.log(JSON.stringify({ id: r.id, ...res })),
    (err: unknown) => console.log(JSON.stringify({ id: r.id, error: String(err) })),
  )
})
console.log(JSON.stringify({ ready: true }))
