/** Types of `cluster-key-slot` (ioredis' own slot function), which ships none. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of a key or shard channel, hash tags included. */
  function calculateSlot(key: string | Buffer): number
  export default calculateSlot
}
