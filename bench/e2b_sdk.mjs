// Latency of the E2B API through the official e2b npm SDK (2.51.0, the copy
// installed in tests/e2e/node_modules): warm create, commands.run('true'),
// files.write + files.read of 1 KiB, kill; plus host spawn baselines measured
// in the same process.
//
//   E2B_API_URL=... E2B_SANDBOX_URL=... E2B_API_KEY=... node bench/e2b_sdk.mjs
//
// Normally started by bench/e2b_api.sh, which sets E2B_BENCH_* (iterations,
// pacing, output file; see e2b_common.mjs). Every loop is bounded in count
// and in time.

import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { bounded, cfg, checkEnv, finish, hostSpawn, measured, sleep, timed } from './e2b_common.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const sdkPath = process.env.E2B_SDK_PATH || join(here, '../tests/e2e/node_modules/e2b/dist/index.mjs')
const { Sandbox } = await import(pathToFileURL(sdkPath).href)

const samples = {}
const KIB = Buffer.alloc(1024, 0x61) // 1 KiB of 'a'
const live = new Set()

async function main() {
  checkEnv()
  const cold = cfg.only === 'create'
  if (!cold) await hostSpawn(samples)

  // create + kill: one sandbox per iteration, the pool refilled between them.
  const create = (samples[cold ? 'create (cold: --pool-size 0)' : 'create (warm pool)'] = [])
  const kill = (samples[cold ? 'kill (cold phase)' : 'kill'] = [])
  for (let i = 0; i < 2; i++) {
    // Warm-up: the first SDK call loads undici and opens the connection.
    const s = await Sandbox.create({ timeoutMs: 300_000 })
    await s.kill()
    await sleep(cfg.paceMs)
  }
  await measured(`${cold ? 'create (cold: --pool-size 0)' : 'create (warm pool)'} + kill`, () => bounded('create/kill', cfg.createIters, async () => {
    const sbx = await timed(create, () => Sandbox.create({ timeoutMs: 300_000 }))
    live.add(sbx)
    const ok = await timed(kill, () => sbx.kill())
    live.delete(sbx)
    if (ok !== true) throw new Error(`kill returned ${ok}`)
    await sleep(cfg.paceMs)
  }))
  if (cold) return finish('sdk', samples)

  // commands.run and files on one sandbox.
  const sbx = await Sandbox.create({ timeoutMs: 300_000 })
  live.add(sbx)
  const run = (samples["commands.run('true')"] = [])
  for (let i = 0; i < cfg.warmup; i++) await sbx.commands.run('true')
  await measured("commands.run('true')", () => bounded('commands.run', cfg.iters, async () => {
    const r = await timed(run, () => sbx.commands.run('true'))
    if (r.exitCode !== 0) throw new Error(`exit code ${r.exitCode}`)
  }))

  const write = (samples['files.write 1 KiB'] = [])
  const read = (samples['files.read 1 KiB'] = [])
  const both = (samples['files.write + read 1 KiB'] = [])
  const path = '/tmp/bench-1k'
  for (let i = 0; i < cfg.warmup; i++) {
    await sbx.files.write(path, KIB)
    await sbx.files.read(path, { format: 'bytes' })
  }
  await measured('files.write + read 1 KiB', () => bounded('files', cfg.iters, async () => {
    const t0 = performance.now()
    await timed(write, () => sbx.files.write(path, KIB))
    const got = await timed(read, () => sbx.files.read(path, { format: 'bytes' }))
    both.push(performance.now() - t0)
    if (got.length !== KIB.length) throw new Error(`read ${got.length} bytes, wrote ${KIB.length}`)
  }))

  await sbx.kill()
  live.delete(sbx)
  finish('sdk', samples, {
    'create (warm pool)': `Sandbox.create({timeoutMs: 300000}); ${cfg.paceMs} ms pause between creates so that the pool is full`,
    'files.write 1 KiB': 'SDK sends multipart/form-data (envdVersion >= 0.5.7 uses octet-stream only for streams or gzip)',
  })
}

try {
  await main()
} finally {
  for (const s of live) await s.kill().catch(() => {})
}
