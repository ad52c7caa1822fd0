<?php

declare(strict_types=1);

namespace Jobcast;

/**
 * Publishes job events from PHP through jobcast's publish script (the one file
 * packages/gateway/lua/publish.lua, which the Node package and the Python producer read too).
 *
 * Calls are synchronous. During a Redis outage a call waits, reconnecting with backoff, and
 * publishes once Redis is back, so a worker's events stay in order; after `retryFor` seconds
 * it throws {@see BusUnavailableException}. After a reconnect it first puts back the last event
 * of every job it published within `rememberFor` seconds (restore.lua: only where Redis lost it,
 * never over a newer or terminal state), so final states survive a Redis restart without
 * persistence. An event after a terminal one is refused (`published` false), not thrown.
 *
 * @example
 * $jobs = new Jobcast\Publisher($redis);            // a connected \Redis (phpredis)
 * $jobs->progress('export-42', 40, ['message' => 'Exported 400 of 1000 rows']);
 * $jobs->complete('export-42', ['downloadUrl' => '/files/export-42.csv']);
 */
final class Publisher
{
    /** Key and channel prefix used when none is given; must match the gateway's `--prefix`. */
    public const DEFAULT_PREFIX = 'jobcast:';

    /** Snapshot time to live, in seconds. */
    private readonly int $ttlSeconds;
    /** How long a call waits for Redis before it throws, in seconds. */
    private readonly float $retryFor;
    /** Largest event accepted, in bytes (ARGV[3] of the publish script). */
    private readonly int $maxEventBytes;
    /** How long the last event of a job is kept for a restore, in seconds. */
    private readonly float $rememberFor;
    /** Most jobs whose last event is kept; the oldest is forgotten first. */
    private readonly int $maxRemembered;
    /** @var array<string, array{source: string, sha: string}> */
    private readonly array $scripts;
    /** @var array{host: string, port: int, timeout: float, auth: mixed, db: int} where to reconnect */
    private readonly array $endpoint;
    /** @var array<string, array{0: string, 1: float}> job id => [stored event JSON, when published] */
    private array $remembered = [];
    /** A connection failed since the last restore: put remembered events back before the next command. */
    private bool $restorePending = false;

    /**
     * @param \Redis $redis a connected phpredis client; the publisher reconnects it to the same
     *                      host, port, auth and database after an outage
     * @param string $prefix key and channel prefix; must match the gateway's
     * @param array{ttlSeconds?: int, retryFor?: float|int, maxEventBytes?: int, rememberFor?: float|int, maxRemembered?: int, luaDir?: string} $options
     *   ttlSeconds: snapshot time to live in seconds (default 86400);
     *   retryFor: seconds a call waits for Redis during an outage before it throws (default 60);
     *   maxEventBytes: largest event in bytes, as the gateway's maxMessageBytes bus option (default 65536);
     *   rememberFor: seconds the last event of each job is kept to restore it (default 3600);
     *   maxRemembered: most jobs remembered (default 10000);
     *   luaDir: folder of publish.lua and restore.lua (default: the repository's packages/gateway/lua)
     */
    public function __construct(private readonly \Redis $redis, private readonly string $prefix = self::DEFAULT_PREFIX, array $options = [])
    {
        $this->ttlSeconds = self::positive($options, 'ttlSeconds', 86400, true);
        $this->retryFor = (float) self::positive($options, 'retryFor', 60, false);
        $this->maxEventBytes = self::positive($options, 'maxEventBytes', 65536, true);
        $this->rememberFor = (float) self::positive($options, 'rememberFor', 3600, false);
        $this->maxRemembered = self::positive($options, 'maxRemembered', 10000, true);
        $luaDir = $options['luaDir'] ?? dirname(__DIR__, 3) . '/packages/gateway/lua';
        $scripts = [];
        foreach (['publish', 'restore'] as $name) {
            $source = @file_get_contents("{$luaDir}/{$name}.lua");
            if ($source === false) {
                throw new JobcastException('invalid_config', "cannot read {$luaDir}/{$name}.lua: pass 'luaDir' => the folder holding jobcast's publish.lua and restore.lua");
            }
            $scripts[$name] = ['source' => $source, 'sha' => sha1($source)];
        }
        $this->scripts = $scripts;
        $host = $redis->getHost();
        if (!is_string($host) || $host === '') {
            throw new JobcastException('invalid_config', 'the \Redis client is not connected: call $redis->connect($host, $port) before new Jobcast\Publisher($redis)');
        }
        $keyPrefix = $redis->getOption(\Redis::OPT_PREFIX);
        if (is_string($keyPrefix) && $keyPrefix !== '') {
            // phpredis would put it before KEYS[1], so the script would store and publish under
            // a name the gateway does not watch.
            throw new JobcastException('invalid_config', "the \\Redis client prefixes every key with '{$keyPrefix}' (OPT_PREFIX, e.g. Laravel's redis prefix option): give the publisher a client without one and set the prefix with its second argument");
        }
        $this->endpoint = ['host' => $host, 'port' => (int) $redis->getPort(), 'timeout' => (float) $redis->getTimeout(), 'auth' => $redis->getAuth(), 'db' => (int) $redis->getDbNum()];
    }

    /**
     * The job waits to run.
     * @param array{message?: string, data?: array<string, mixed>|object, ts?: int|float} $fields ts in ms since the epoch (default now)
     */
    public function queued(string $id, array $fields = []): PublishOutcome
    {
        return $this->publish(['id' => $id, 'status' => 'queued'] + $fields);
    }

    /**
     * The job runs.
     * @param array{message?: string, data?: array<string, mixed>|object, progress?: int|float, ts?: int|float} $fields
     */
    public function active(string $id, array $fields = []): PublishOutcome
    {
        return $this->publish(['id' => $id, 'status' => 'active'] + $fields);
    }

    /**
     * The job runs and is `$percent` (0–100) done.
     * @param array{message?: string, data?: array<string, mixed>|object, ts?: int|float} $fields
     */
    public function progress(string $id, int|float $percent, array $fields = []): PublishOutcome
    {
        return $this->publish(['id' => $id, 'status' => 'active', 'progress' => $percent] + $fields);
    }

    /**
     * The job succeeded (terminal). Progress is 100 unless `$fields` says otherwise.
     * @param array<string, mixed>|object|null $result e.g. ['downloadUrl' => '/files/export-42.csv']
     * @param array{message?: string, data?: array<string, mixed>|object, progress?: int|float, ts?: int|float} $fields
     */
    public function complete(string $id, array|object|null $result = null, array $fields = []): PublishOutcome
    {
        return $this->publish(['id' => $id, 'status' => 'completed'] + ($result === null ? [] : ['result' => $result]) + $fields + ['progress' => 100]);
    }

    /**
     * The job failed (terminal).
     * @param string|array{message: string, code?: string}|\Throwable $error a message, an error object, or an exception (its message, and its code when not 0)
     * @param array{message?: string, data?: array<string, mixed>|object, progress?: int|float, ts?: int|float} $fields
     */
    public function fail(string $id, string|array|\Throwable $error, array $fields = []): PublishOutcome
    {
        if (is_string($error)) {
            $error = ['message' => $error];
        } elseif ($error instanceof \Throwable) {
            $error = ['message' => $error->getMessage()] + ($error->getCode() === 0 ? [] : ['code' => (string) $error->getCode()]);
        }
        return $this->publish(['id' => $id, 'status' => 'failed', 'error' => $error] + $fields);
    }

    /**
     * The job was cancelled (terminal).
     * @param array{message?: string, data?: array<string, mixed>|object, ts?: int|float} $fields
     */
    public function cancel(string $id, array $fields = []): PublishOutcome
    {
        return $this->publish(['id' => $id, 'status' => 'cancelled'] + $fields);
    }

    /**
     * Publishes any event (docs/protocol.md, "Event"); `ts` defaults to now. An empty PHP array
     * as `data` or `result` is sent as the empty object `{}`.
     * @param array<string, mixed> $event
     * @throws InvalidEventException when the publish script refuses the event (`field` says which)
     * @throws BusUnavailableException when Redis stayed unreachable for `retryFor` seconds
     */
    public function publish(array $event): PublishOutcome
    {
        $id = $event['id'] ?? null;
        $jobId = is_string($id) ? $id : null;
        if (!array_key_exists('ts', $event)) {
            $event['ts'] = (int) floor(microtime(true) * 1000);
        }
        foreach (['data', 'result'] as $name) {
            if (($event[$name] ?? null) === []) {
                $event[$name] = new \stdClass();
            }
        }
        try {
            $json = json_encode($event, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        } catch (\JsonException $e) {
            throw new InvalidEventException('invalid_event', 'event', "invalid_event: event cannot be encoded as JSON: {$e->getMessage()}", $jobId, $e);
        }
        $reply = $this->call('publish', $this->key($jobId ?? ''), [$json, $this->ttlSeconds, $this->maxEventBytes], $jobId ?? '');
        if (!is_array($reply) || count($reply) !== 2 || !is_string($reply[1])) {
            throw new JobcastException('internal', "unexpected reply from the publish script for job {$jobId}: is another script loaded under its SHA?", $jobId);
        }
        $stored = json_decode($reply[1], true);
        if (!is_array($stored)) {
            throw new JobcastException('internal', "the snapshot of job {$jobId} is not JSON: delete key {$this->key((string) $jobId)}", $jobId);
        }
        $this->remember((string) $jobId, $reply[1]);
        return (int) $reply[0] === 1 ? new PublishOutcome(true, $stored) : new PublishOutcome(false, $stored, 'terminal');
    }

    /** Job ids whose last event this publisher would restore after a reconnect. @return list<string> */
    public function rememberedJobs(): array
    {
        $this->forgetExpired(microtime(true));
        return array_map('strval', array_keys($this->remembered));
    }

    private function key(string $id): string
    {
        return "{$this->prefix}job:{{$id}}";
    }

    private function remember(string $id, string $json): void
    {
        unset($this->remembered[$id]);
        $this->remembered[$id] = [$json, microtime(true)];
        if (count($this->remembered) > $this->maxRemembered) {
            array_shift($this->remembered);
        }
    }

    private function forgetExpired(float $now): void
    {
        foreach ($this->remembered as $id => [, $at]) {
            if ($now - $at <= $this->rememberFor) {
                break; // oldest first: the rest is younger
            }
            unset($this->remembered[$id]);
        }
    }

    /**
     * Runs a script, waiting out an outage within `retryFor`; restores remembered events first
     * after a reconnect. A publish whose reply was lost is sent again as the same text, which
     * the script answers with its first outcome.
     * @param list<string|int> $args
     */
    private function call(string $script, string $key, array $args, string $jobId): mixed
    {
        $failingSince = null;
        $delay = 0.05;
        while (true) {
            try {
                if ($this->restorePending) {
                    $this->restoreRemembered();
                }
                return $this->evalScript($script, $key, $args, $jobId);
            } catch (\RedisException $e) {
                if ($this->redis->isConnected()) {
                    throw $this->replyError($e->getMessage(), $jobId, $e);
                }
                $this->restorePending = true;
                $now = microtime(true);
                $failingSince ??= $now;
                $left = $this->retryFor - ($now - $failingSince);
                if ($left <= 0) {
                    throw new BusUnavailableException('bus_unavailable', sprintf(
                        'Redis at %s:%d stayed unreachable for %s s (retryFor): the event of job %s was not published; check that Redis runs, or raise retryFor',
                        $this->endpoint['host'], $this->endpoint['port'], $this->retryFor, $jobId,
                    ), $jobId, $e);
                }
                usleep((int) (min($delay, $left) * 1e6));
                $delay = min($delay * 2, 1.0);
                $this->reconnect();
            }
        }
    }

    /** @param list<string|int> $args */
    private function evalScript(string $name, string $key, array $args, string $jobId): mixed
    {
        $script = $this->scripts[$name];
        $this->redis->clearLastError();
        $reply = $this->redis->evalSha($script['sha'], [$key, ...$args], 1);
        if ($reply === false && str_starts_with((string) $this->redis->getLastError(), 'NOSCRIPT')) {
            $this->redis->clearLastError();
            $reply = $this->redis->eval($script['source'], [$key, ...$args], 1);
        }
        $error = $this->redis->getLastError();
        if ($reply === false && $error !== null) {
            throw $this->replyError($error, $jobId, null);
        }
        return $reply;
    }

    private function replyError(string $reply, string $jobId, ?\Throwable $previous): JobcastException
    {
        return InvalidEventException::fromReply($reply, $jobId === '' ? null : $jobId, $previous)
            ?? new JobcastException('internal', "Redis refused the jobcast script for job {$jobId}: {$reply}", $jobId, $previous);
    }

    private function restoreRemembered(): void
    {
        $this->forgetExpired(microtime(true));
        foreach ($this->remembered as $id => [$json]) {
            $this->evalScript('restore', $this->key((string) $id), [$json, $this->ttlSeconds], (string) $id);
        }
        $this->restorePending = false;
    }

    private function reconnect(): void
    {
        $endpoint = $this->endpoint;
        try {
            if (!@$this->redis->connect($endpoint['host'], $endpoint['port'], $endpoint['timeout'])) {
                return;
            }
            if ($endpoint['auth'] !== null && $endpoint['auth'] !== false) {
                $this->redis->auth($endpoint['auth']);
            }
            if ($endpoint['db'] !== 0) {
                $this->redis->select($endpoint['db']);
            }
        } catch (\RedisException) {
            // Still down: the next attempt of the loop fails and waits again.
        }
    }

    /** @param array<string, mixed> $options */
    private static function positive(array $options, string $name, int $default, bool $whole): int|float
    {
        $value = $options[$name] ?? $default;
        if (!(is_int($value) || (!$whole && is_float($value))) || $value <= 0) {
            throw new JobcastException('invalid_config', "option {$name} must be a positive " . ($whole ? 'whole number' : 'number') . ", got " . var_export($value, true));
        }
        return $value;
    }
}
