import { expect, it } from 'vitest'
import { ConnectionRegistry } from '../src/registry.js'

it('ends every live connection on shutdown, and one that registers after shutdown began', async () => {
  const registry = new ConnectionRegistry()
  const ended: string[] = []
  const remove = registry.add({ shutdown: () => ended.push('early') })
  registry.add({
    shutdown: () => {
      throw new Error('one failing connection does not keep the others open')
    },
  })
  registry.shutdownAll()
  expect(ended).toEqual(['early'])
  expect(registry.closing).toBe(true)
  remove()
  registry.add({ shutdown: () => ended.push('late') })
  await Promise.resolve()
  expect(ended).toEqual(['early', 'late'])
})
