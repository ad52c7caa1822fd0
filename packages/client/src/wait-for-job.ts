import { createClient, type JobcastClient } from './client.js'
import type { ClientOptions, WaitOptions } from './options.js'
import type { JobEvent } from './protocol.js'

/**
 * One-off wait without keeping a client: opens a connection, waits, closes it. Resolves and
 * rejects like {@link JobcastClient.waitForJob}.
 * @example const job = await waitForJob('export-42', { url: '/jobcast', timeout: 120_000 })
 */
export async function waitForJob<R = Record<string, unknown>>(
  id: string,
  options: ClientOptions & WaitOptions,
): Promise<JobEvent<R>> {
  const client = createClient(options)
  try {
    return await client.waitForJob<R>(id, options)
  } finally {
    client.close()
  }
}
