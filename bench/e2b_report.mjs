// Pools the result files of bench/e2b_sdk.mjs and bench/e2b_raw.mjs (one per
// round) and prints p50/p99 per client and operation, the spread of the
// per-round medians, ratios to the same-run host baselines and the issue's
// targets.
//
//   node bench/e2b_report.mjs RESULT.json...

import { readFileSync } from 'node:fs'
import { summary } from './e2b_common.mjs'

const pooled = new Map() // "client\top" -> { all: [], rounds: [p50...] }
const server = new Map() // "client\tloop\troute" -> { count, sumMs }
for (const file of process.argv.slice(2)) {
  const { client, samples, serverSide = {} } = JSON.parse(readFileSync(file, 'utf8'))
  for (const [loop, routes] of Object.entries(serverSide))
    for (const [route, { count, sumMs }] of Object.entries(routes)) {
      const key = `${client}\t${loop}\t${route}`
      const e = server.get(key) ?? { client, loop, route, count: 0, sumMs: 0 }
      e.count += count
      e.sumMs += sumMs
      server.set(key, e)
    }
  for (const [op, xs] of Object.entries(samples)) {
    if (xs.length === 0) continue
    const key = `${client}\t${op}`
    if (!pooled.has(key)) pooled.set(key, { client, op, all: [], rounds: [] })
    const e = pooled.get(key)
    e.all.push(...xs)
    e.rounds.push(summary(xs).p50)
  }
}

const stats = new Map()
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-')
console.log('all samples of all rounds pooled; "round p50s" is the lowest and highest per-round median')
console.log(`${'client'.padEnd(6)} ${'operation'.padEnd(48)} ${'n'.padStart(5)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  round p50s`)
for (const e of pooled.values()) {
  const s = summary(e.all)
  stats.set(`${e.client}\t${e.op}`, s)
  const lo = Math.min(...e.rounds)
  const hi = Math.max(...e.rounds)
  console.log(`${e.client.padEnd(6)} ${e.op.padEnd(48)} ${String(s.n).padStart(5)} ${f(s.p50).padStart(8)} ${f(s.p99).padStart(8)}  ${f(lo)}–${f(hi)}`)
}

console.log()
console.log('server side: the gateway\'s own timer (request arrival to last byte written, sandhive /metrics), mean per request')
for (const e of server.values())
  console.log(`${e.client.padEnd(6)} ${e.loop.padEnd(48)} ${e.route.padEnd(28)} ${String(e.count).padStart(5)} ${(e.sumMs / e.count).toFixed(2).padStart(8)} ms`)

const p50 = (client, op) => stats.get(`${client}\t${op}`)?.p50
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '-')
const hostBash = p50('sdk', 'host: spawnSync bash -c true')
const hostTrue = p50('sdk', 'host: spawnSync /bin/true')
const hostLogin = p50('sdk', 'host: spawnSync chroot <template> bash -l -c true')
const sdkRun = p50('sdk', "commands.run('true')")
const rawRun = p50('raw', "Start bash -l -c true (= commands.run('true'))")
const rawBare = p50('raw', 'Start /bin/true (no shell)')
console.log()
console.log('ratios of medians (same run)')
console.log(`  SDK commands.run('true') / host spawnSync bash -c true   ${ratio(sdkRun, hostBash)}`)
console.log(`  raw Start bash -l -c true / host spawnSync bash -c true  ${ratio(rawRun, hostBash)}`)
console.log(`  SDK commands.run('true') / host chroot bash -l -c true   ${ratio(sdkRun, hostLogin)}`)
console.log(`  raw Start bash -l -c true / host chroot bash -l -c true  ${ratio(rawRun, hostLogin)}`)
console.log(`  raw Start /bin/true / host spawnSync /bin/true           ${ratio(rawBare, hostTrue)}`)
console.log(`  SDK / raw: create ${ratio(p50('sdk', 'create (warm pool)'), p50('raw', 'create (warm pool)'))}, ` +
  `run ${ratio(sdkRun, rawRun)}, write+read ${ratio(p50('sdk', 'files.write + read 1 KiB'), p50('raw', 'files.write + read 1 KiB'))}, ` +
  `kill ${ratio(p50('sdk', 'kill'), p50('raw', 'kill'))}`)
const sdkCreate = p50('sdk', 'create (warm pool)')
console.log()
console.log('targets (issue 4)')
const verdict = (x, limit) => (x === undefined ? 'not measured' : x < limit ? 'met' : 'NOT met')
console.log(`  SDK create from the warm pool p50 < 10 ms: ${f(sdkCreate)} ms, ${verdict(sdkCreate, 10)}`)
console.log(`  SDK commands.run round trip p50 < 5 ms:    ${f(sdkRun)} ms, ${verdict(sdkRun, 5)}`)
