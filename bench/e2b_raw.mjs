// Latency of the E2B API over raw HTTP/1.1, without the SDK: the same
// operations as bench/e2b_sdk.mjs, written by hand from the wire protocol
// (shared/E2B-PROTOCOL.md): POST /v2/sandboxes, POST /process.Process/Start
// (application/connect+json, one envelope, read to the end-stream envelope),
// POST /files (multipart like the SDK, and octet-stream), GET /files,
// DELETE /sandboxes/{id}. Plus GET /health, the gateway's floor.
//
// Node's own `http` module with one keep-alive agent: the same runtime as
// the SDK script, so the difference between the two is the SDK's client
// stack (undici fetch, connect-es, openapi-fetch), not the language.
//
//   E2B_API_URL=... E2B_SANDBOX_URL=... E2B_API_KEY=... node bench/e2b_raw.mjs

import http from 'node:http'
import { bounded, cfg, checkEnv, finish, measured, sleep, timed, API_KEY, API_URL, SANDBOX_URL } from './e2b_common.mjs'

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })

/** One request; resolves { status, headers, body: Buffer }. */
function request(base, method, path, headers = {}, body = null) {
  const u = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)))
    if (body) {
      req.setHeader('Content-Length', body.length)
      req.end(body)
    } else req.end()
  })
}

function expect(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status}: ${res.body.toString().slice(0, 300)}`)
  return res
}

const api = (method, path, body) =>
  request(API_URL, method, path,
    body ? { 'X-API-KEY': API_KEY, 'Content-Type': 'application/json' } : { 'X-API-KEY': API_KEY },
    body ? Buffer.from(JSON.stringify(body)) : null)

async function create() {
  const res = expect(await api('POST', '/v2/sandboxes', { templateID: 'base', timeout: 300 }), 201, 'create')
  const j = JSON.parse(res.body)
  return { id: j.sandboxID, token: j.envdAccessToken }
}

const kill = async (sbx) => expect(await api('DELETE', `/sandboxes/${sbx.id}`), 204, 'kill')

const envdHeaders = (sbx, extra) => ({
  'E2b-Sandbox-Id': sbx.id,
  'E2b-Sandbox-Port': '49983',
  'X-Access-Token': sbx.token,
  ...extra,
})

/** One Connect envelope: flags, big-endian length, JSON payload. */
function envelope(flags, obj) {
  const payload = Buffer.from(JSON.stringify(obj))
  const head = Buffer.alloc(5)
  head[0] = flags
  head.writeUInt32BE(payload.length, 1)
  return Buffer.concat([head, payload])
}

/** Splits a server stream into its envelopes. */
function envelopes(buf) {
  const out = []
  for (let o = 0; o + 5 <= buf.length;) {
    const n = buf.readUInt32BE(o + 1)
    out.push({ flags: buf[o], msg: JSON.parse(buf.subarray(o + 5, o + 5 + n)) })
    o += 5 + n
  }
  return out
}

/** POST /process.Process/Start as commands.run sends it; returns the exit code. */
async function start(sbx, cmd, args) {
  const res = expect(
    await request(SANDBOX_URL, 'POST', '/process.Process/Start',
      envdHeaders(sbx, {
        'Content-Type': 'application/connect+json',
        'Connect-Protocol-Version': '1',
        'Connect-Timeout-Ms': '60000',
        'Keepalive-Ping-Interval': '50',
      }),
      envelope(0, { process: { cmd, args }, stdin: false })),
    200, 'Start')
  const evs = envelopes(res.body)
  const last = evs.at(-1)
  if (!evs[0]?.msg?.event?.start) throw new Error(`Start: first message is not start: ${res.body}`)
  if (!last || last.flags !== 2 || last.msg.error) throw new Error(`Start: bad end of stream: ${res.body}`)
  const end = evs.find((e) => e.msg?.event?.end)?.msg.event.end
  if (!end) throw new Error(`Start: no end event: ${res.body}`)
  return end.exitCode ?? 0
}

const BOUNDARY = '----sandhive-bench-7d3f'
function multipart(path, data) {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${path}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n'),
    data,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ])
}

const writeMultipart = async (sbx, path, data) =>
  expect(await request(SANDBOX_URL, 'POST', `/files?path=${encodeURIComponent(path)}`,
    envdHeaders(sbx, { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` }),
    multipart(path, data)), 200, 'write (multipart)')

const writeOctet = async (sbx, path, data) =>
  expect(await request(SANDBOX_URL, 'POST', `/files?path=${encodeURIComponent(path)}`,
    envdHeaders(sbx, { 'Content-Type': 'application/octet-stream' }), data), 200, 'write (octet-stream)')

const readFile = async (sbx, path) =>
  expect(await request(SANDBOX_URL, 'GET', `/files?path=${encodeURIComponent(path)}`, envdHeaders(sbx)),
    200, 'read').body

const samples = {}
const KIB = Buffer.alloc(1024, 0x61)
const live = new Set()

async function main() {
  checkEnv()
  const cold = cfg.only === 'create'
  if (!cold) {
    const health = (samples['GET /health (gateway floor)'] = [])
    for (let i = 0; i < cfg.warmup; i++) await request(API_URL, 'GET', '/health')
    await measured('GET /health (gateway floor)', () => bounded('health', cfg.iters, async () => {
      expect(await timed(health, () => request(API_URL, 'GET', '/health')), 204, 'health')
    }))
  }

  const createOp = cold ? 'create (cold: --pool-size 0)' : 'create (warm pool)'
  const created = (samples[createOp] = [])
  const killed = (samples[cold ? 'kill (cold phase)' : 'kill'] = [])
  for (let i = 0; i < 2; i++) {
    await kill(await create())
    await sleep(cfg.paceMs)
  }
  await measured(createOp + ' + kill', () => bounded('create/kill', cfg.createIters, async () => {
    const sbx = await timed(created, create)
    live.add(sbx)
    await timed(killed, () => kill(sbx))
    live.delete(sbx)
    await sleep(cfg.paceMs)
  }))
  if (cold) return finish('raw', samples)

  const sbx = await create()
  live.add(sbx)
  const info = (samples['GET /sandboxes/{id}'] = [])
  const runOp = "Start bash -l -c true (= commands.run('true'))"
  const run = (samples[runOp] = [])
  const bare = (samples['Start /bin/true (no shell)'] = [])
  for (let i = 0; i < cfg.warmup; i++) {
    await start(sbx, '/bin/bash', ['-l', '-c', 'true'])
    await start(sbx, '/bin/true', [])
    await api('GET', `/sandboxes/${sbx.id}`)
  }
  await measured('GET /sandboxes/{id}', () => bounded('GET /sandboxes/{id}', cfg.iters, async () => {
    expect(await timed(info, () => api('GET', `/sandboxes/${sbx.id}`)), 200, 'get')
  }))
  await measured(runOp, () => bounded('Start bash', cfg.iters, async () => {
    const code = await timed(run, () => start(sbx, '/bin/bash', ['-l', '-c', 'true']))
    if (code !== 0) throw new Error(`exit code ${code}`)
  }))
  await measured('Start /bin/true (no shell)', () => bounded('Start /bin/true', cfg.iters, async () => {
    if ((await timed(bare, () => start(sbx, '/bin/true', []))) !== 0) throw new Error('/bin/true failed')
  }))

  const wm = (samples['files.write 1 KiB (multipart)'] = [])
  const rd = (samples['files.read 1 KiB'] = [])
  const both = (samples['files.write + read 1 KiB'] = [])
  const wo = (samples['files.write 1 KiB (octet-stream)'] = [])
  const path = '/tmp/bench-1k'
  for (let i = 0; i < cfg.warmup; i++) {
    await writeMultipart(sbx, path, KIB)
    await writeOctet(sbx, path, KIB)
    await readFile(sbx, path)
  }
  await measured('files.write + read 1 KiB', () => bounded('files', cfg.iters, async () => {
    const t0 = performance.now()
    await timed(wm, () => writeMultipart(sbx, path, KIB))
    const got = await timed(rd, () => readFile(sbx, path))
    both.push(performance.now() - t0)
    if (!got.equals(KIB)) throw new Error(`read back ${got.length} bytes that differ from what was written`)
  }))
  await measured('files.write 1 KiB (octet-stream)', () => bounded('files octet', cfg.iters, async () => {
    await timed(wo, () => writeOctet(sbx, path, KIB))
  }))

  await kill(sbx)
  live.delete(sbx)
  finish('raw', samples, {
    'create (warm pool)': `POST /v2/sandboxes {"templateID":"base","timeout":300}; ${cfg.paceMs} ms pause between creates`,
    'files.write + read 1 KiB': 'multipart write (as the SDK sends it) then GET',
  })
}

try {
  await main()
} finally {
  for (const s of live) await kill(s).catch(() => {})
  agent.destroy()
}
