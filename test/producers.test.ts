/**
 * The PHP and Python producers inside `npm test`: their own suites (PHPUnit, pytest, each
 * running the conformance table) against this suite's redis-server, then what each publishes
 * followed through a real gateway by a WebSocket, an SSE and a polling client holding a token
 * that the same language minted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { waitForJob, type JobEvent, type TransportName } from '@jobcast/client'
import { createJwtAuthorizer } from '../packages/gateway/src/auth/jwt-authorizer.js'
import { startGateway, type TestGateway } from './support/gateway.js'
import { phpInterpreter, pythonInterpreter, ROOT, run, type ProducerLanguage } from './support/producers.js'
import { randomPrefix, startRedis, type TestRedis } from './support/redis.js'

const SECRET = 'producers-test-secret-of-at-least-32-bytes!'
const PRODUCER_SECRET = 'producers-test-producer-secret-of-32-bytes-or-more'

let redis: TestRedis
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describe('producer suites against the real redis-server', () => {
  it('PHPUnit: producers/php', async () => {
    const result = await run(phpInterpreter(), ['/usr/bin/phpunit', '--do-not-cache-result'], { cwd: 'producers/php', redisUrl: redis.url })
    const summary = /OK \((\d+) tests?, (\d+) assertions?\)/.exec(result.stdout)
    expect(result.status, result.stdout + result.stderr).toBe(0)
    // An exit 0 with nothing run would prove nothing.
    expect(Number(summary?.[1] ?? 0), result.stdout).toBeGreaterThan(40)
    console.log(`[jobcast] php: ${summary?.[0]}`)
  }, 120_000)

  it('pytest: producers/python', async () => {
    const result = await run(pythonInterpreter(), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], { cwd: 'producers/python', redisUrl: redis.url })
    // pytest exits 5 when it collected nothing: a failure here, not a pass.
    expect(result.status, result.status === 5 ? 'pytest collected no tests' : result.stdout + result.stderr).toBe(0)
    const passed = /(\d+) passed/.exec(result.stdout)
    expect(Number(passed?.[1] ?? 0), result.stdout).toBeGreaterThan(40)
    console.log(`[jobcast] python: ${result.stdout.trim().split('\n').at(-1)}`)
  }, 120_000)
})

/** Per language: a command that mints a token for a job, and one that publishes a small export. */
const producers: Record<ProducerLanguage, { command: () => string; token: string; publish: string }> = {
  php: {
    command: phpInterpreter,
    token: `require 'producers/php/autoload.php'; echo Jobcast\\JobToken::sign([$argv[1]], '5m', getenv('SECRET'));`,
    publish: `require 'producers/php/autoload.php';
      $url = parse_url(getenv('JOBCAST_REDIS_URL'));
      $redis = new Redis(); $redis->connect($url['host'], $url['port']);
      $jobs = new Jobcast\\Publisher($redis, getenv('PREFIX'));
      [, $id] = $argv;
      $jobs->queued($id);
      $jobs->progress($id, 50, ['message' => "half\\nway", 'data' => ['rows' => [], 'lang' => 'php']]);
      $jobs->complete($id, ['downloadUrl' => "/files/{$id}.csv"]);`,
  },
  python: {
    command: pythonInterpreter,
    token: `import os, sys; sys.path.insert(0, 'producers/python'); from jobcast import sign_job_token; print(sign_job_token([sys.argv[1]], '5m', os.environ['SECRET']), end='')`,
    publish: `import os, sys, redis; sys.path.insert(0, 'producers/python'); from jobcast import Publisher
jobs = Publisher(redis.Redis.from_url(os.environ['JOBCAST_REDIS_URL']), os.environ['PREFIX'])
id = sys.argv[1]
jobs.queued(id)
jobs.progress(id, 50, message='half\\nway', data={'rows': [], 'lang': 'python'})
jobs.complete(id, {'downloadUrl': f'/files/{id}.csv'})`,
  },
}

describe.each(['php', 'python'] as const)('what the %s producer publishes, through the gateway', (language) => {
  let gw: TestGateway
  const prefix = randomPrefix()
  const producer = producers[language]
  const inline = (code: string) => (language === 'php' ? ['-r', code, '--'] : ['-c', code])
  beforeAll(async () => {
    gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, authorizer: createJwtAuthorizer({ secret: SECRET }), pollRetryAfterSeconds: 0 })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('reaches a WebSocket, an SSE and a polling client, each holding a token the same language minted', async () => {
    const transports: TransportName[] = ['websocket', 'sse', 'polling']
    const ids = transports.map((transport) => `${language}-${transport}-${Date.now()}`)
    const tokens = await Promise.all(
      ids.map(async (id) => {
        const minted = await run(producer.command(), [...inline(producer.token), id], { redisUrl: redis.url, env: { SECRET } })
        expect(minted.status, minted.stderr).toBe(0)
        return minted.stdout
      }),
    )
    const seen = ids.map((): JobEvent[] => [])
    const waits = ids.map((id, index) =>
      waitForJob(id, {
        url: gw.url,
        transports: [transports[index]!],
        token: tokens[index]!,
        WebSocket,
        poll: { initial: 50, max: 150, factor: 2 },
        notFoundGrace: 15_000,
        onProgress: (job) => seen[index]!.push(job),
      }),
    )
    // The push clients watch before the first event, so they must see every step.
    for (const deadline = Date.now() + 10_000; gw.gateway.hub.watchedJobs < 2; await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) throw new Error('the WebSocket and SSE clients did not start watching')
    }
    for (const id of ids) {
      const published = await run(producer.command(), [...inline(producer.publish), id], { redisUrl: redis.url, env: { PREFIX: prefix } })
      expect(published.status, published.stderr).toBe(0)
    }
    const jobs = await Promise.all(waits)
    jobs.forEach((job, index) => {
      expect(job).toMatchObject({ id: ids[index], status: 'completed', progress: 100, result: { downloadUrl: `/files/${ids[index]}.csv` } })
    })
    // Push transports see the step, with the line break kept inside the message.
    for (const index of [0, 1]) expect(seen[index]!.find((job) => job.progress === 50)).toMatchObject({ message: 'half\nway', data: { rows: [], lang: language } })
  }, 60_000)

  it('a token for another job is refused', async () => {
    const minted = await run(producer.command(), [...inline(producer.token), `${language}-other`], { redisUrl: redis.url, env: { SECRET } })
    const response = await fetch(`${gw.url}/v1/jobs/${language}-mine`, { headers: { authorization: `Bearer ${minted.stdout}` } })
    expect(response.status).toBe(403)
  })
})

describe('README "Publishing": each snippet runs as shown', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Publishing'), readme.indexOf('## Running the gateway'))
  const snippet = (language: string) => new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section)?.[1] ?? ''

  it.each([
    { language: 'js', command: () => process.execPath, args: (code: string) => ['--input-type=module', '-e', code] },
    { language: 'php', command: phpInterpreter, args: (code: string, file: string) => (writeFileSync(file, code), [file]) },
    { language: 'python', command: pythonInterpreter, args: (code: string) => ['-c', code] },
    { language: 'sh', command: () => 'bash', args: (code: string) => ['-euo', 'pipefail', '-c', code] },
  ])('$language', async ({ language, command, args }) => {
    const code = snippet(language)
    expect(code).toContain('export-42')
    const raw = new Redis(redis.url)
    const folder = mkdtempSync(join(tmpdir(), 'jobcast-readme-'))
    try {
      await raw.flushall()
      // The HTTP snippet posts to a gateway with a producer secret, as its text says.
      const gateway = language === 'sh' ? await startGateway({ bus: { redisUrl: redis.url }, producerSecret: PRODUCER_SECRET }) : undefined
      const result = await run(command(), args(code, join(folder, 'publish.php')), {
        redisUrl: redis.url,
        env: gateway ? { JOBCAST_URL: gateway.url, JOBCAST_PRODUCER_SECRET: PRODUCER_SECRET } : {},
      }).finally(() => gateway?.close())
      if (gateway) expect(JSON.parse(result.stdout)).toEqual({ published: true, seq: expect.any(Number) })
      expect(result.status, result.stdout + result.stderr).toBe(0)
      const stored = JSON.parse((await raw.get('jobcast:job:{export-42}')) ?? 'null') as Record<string, unknown> | null
      expect(stored).toMatchObject({ status: 'completed', progress: 100, result: { downloadUrl: '/files/export-42.csv' } })
    } finally {
      raw.disconnect()
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
