// Shared by bench/e2b_sdk.mjs and bench/e2b_raw.mjs: bounded timing loops,
// host spawn baselines, percentiles and the result file format.
//
// A result file is one JSON object:
//   { "client": "sdk" | "raw", "samples": { "<op>": [ms, ...], ... },
//     "notes": { "<op>": "..." },
//     "serverSide": { "<loop>": { "<route>": { "count": n, "sumMs": ms } } } }
// bench/e2b_report.mjs pools the samples of several files (several rounds)
// and prints p50/p99 per operation.

import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Throws unless the SDK's three variables are set (e2b_api.sh sets them). */
export function checkEnv() {
  for (const name of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY']) {
    if (!process.env[name]) throw new Error(`${name} is not set; run through bench/e2b_api.sh`)
  }
}
export const API_URL = process.env.E2B_API_URL
export const SANDBOX_URL = process.env.E2B_SANDBOX_URL
export const API_KEY = process.env.E2B_API_KEY

/** Iteration counts and bounds, from the environment (bench/e2b_api.sh). */
export const cfg = {
  iters: Number(process.env.E2B_BENCH_ITERS || 200), // run, files, host spawn
  createIters: Number(process.env.E2B_BENCH_CREATE_ITERS || 60), // create, kill
  warmup: Number(process.env.E2B_BENCH_WARMUP || 10),
  // Pause between two creates so that the warm pool (refilled 50 ms after a
  // claim) is full again: every create measured is a warm claim.
  paceMs: Number(process.env.E2B_BENCH_PACE_MS || 250),
  loopBudgetMs: Number(process.env.E2B_BENCH_LOOP_BUDGET_MS || 120_000),
  out: process.env.E2B_BENCH_OUT || '',
  // 'create' measures only create + kill (the cold phase of e2b_api.sh).
  only: process.env.E2B_BENCH_ONLY || '',
}

/**
 * Runs `fn(i)` up to `n` times, or until `budgetMs` has passed, and returns
 * whatever `fn` pushed. `fn` does its own timing (it may time several
 * operations per iteration).
 */
export async function bounded(name, n, fn, budgetMs = cfg.loopBudgetMs) {
  const t0 = performance.now()
  let i = 0
  for (; i < n; i++) {
    if (performance.now() - t0 > budgetMs) {
      console.error(`  ${name}: stopped after ${i} of ${n} iterations (${budgetMs} ms budget)`)
      break
    }
    await fn(i)
  }
  return i
}

/** Times one awaited call, pushing milliseconds onto `into`. */
export async function timed(into, fn) {
  const t0 = performance.now()
  const v = await fn()
  into.push(performance.now() - t0)
  return v
}

/**
 * Host baselines measured in the same process and run: spawnSync of
 * `bash -c true` and of `/bin/true`, and, when E2B_BENCH_ROOTFS names the
 * base template's root, `chroot ROOTFS /bin/bash -l -c true`: the very
 * program commands.run('true') runs (a login shell, with the template's
 * /etc/profile and libraries) minus namespaces, cgroups, overlay, envd and
 * HTTP. (`bash -l -c true` on the host itself is no baseline: this host's
 * login profile takes ~300 ms.)
 */
export async function hostSpawn(samples) {
  const cases = [
    ['host: spawnSync bash -c true', 'bash', ['-c', 'true']],
    ['host: spawnSync /bin/true', '/bin/true', []],
  ]
  const rootfs = process.env.E2B_BENCH_ROOTFS
  if (rootfs) cases.push(['host: spawnSync chroot <template> bash -l -c true', 'chroot', [rootfs, '/bin/bash', '-l', '-c', 'true']])
  for (const [name] of cases) samples[name] = []
  for (let i = 0; i < cfg.warmup; i++) for (const [, cmd, args] of cases) spawnSync(cmd, args)
  await bounded('host spawn', cfg.iters, async () => {
    for (const [name, cmd, args] of cases) {
      const t0 = performance.now()
      const r = spawnSync(cmd, args, { stdio: 'ignore' })
      samples[name].push(performance.now() - t0)
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
    }
  })
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  // Nearest rank.
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[k]
}

export function summary(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99) }
}

/** Per route: [sum of seconds, count] of the gateway's own request timer. */
async function serverTimer() {
  const res = await fetch(new URL('/metrics', API_URL))
  const out = {}
  for (const line of (await res.text()).split('\n')) {
    const m = /^sandhive_http_request_duration_seconds_(sum|count)\{route="([^"]*)"\} (\S+)$/.exec(line)
    if (!m) continue
    const e = (out[m[2]] ??= [0, 0])
    e[m[1] === 'sum' ? 0 : 1] = Number(m[3])
  }
  return out
}

/**
 * Server-side time of a loop: runs `fn`, then records, for each route the
 * loop hit, how many requests the gateway timed and the mean time it took
 * (from its arrival to the last byte written; sandhive's /metrics). Only
 * this process talks to the server meanwhile, so the figures are the loop's.
 */
export const serverSide = {}
export async function measured(op, fn) {
  const before = await serverTimer()
  const r = await fn()
  const after = await serverTimer()
  for (const [route, [sum, count]] of Object.entries(after)) {
    const [s0, c0] = before[route] ?? [0, 0]
    if (count > c0 && route !== '/metrics')
      (serverSide[op] ??= {})[route] = { count: count - c0, sumMs: (sum - s0) * 1000 }
  }
  return r
}

/** Prints a short per-op summary on stderr and writes the result file. */
export function finish(client, samples, notes = {}) {
  for (const [op, xs] of Object.entries(samples)) {
    const { n, p50, p99 } = summary(xs)
    console.error(`  ${client} ${op.padEnd(36)} n=${String(n).padStart(4)} p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms`)
  }
  for (const [op, routes] of Object.entries(serverSide))
    for (const [route, { count, sumMs }] of Object.entries(routes))
      console.error(`  ${client} server side of ${op}: ${route} ${count} requests, mean ${(sumMs / count).toFixed(3)} ms`)
  if (cfg.out) writeFileSync(cfg.out, JSON.stringify({ client, samples, notes, serverSide }))
}
