<?php

declare(strict_types=1);

namespace Jobcast\Tests;

/**
 * Redis for the tests: the suite's server from JOBCAST_REDIS_URL, or a private redis-server on
 * a free port that a test may kill and restart (empty, as a restart without persistence).
 */
final class TestRedis
{
    private ?int $pid = null;

    private function __construct(public readonly string $host, public readonly int $port, private readonly bool $owned)
    {
    }

    /** The suite's Redis (JOBCAST_REDIS_URL, e.g. redis://127.0.0.1:6379). */
    public static function shared(): self
    {
        $url = getenv('JOBCAST_REDIS_URL');
        if ($url === false || $url === '') {
            throw new \RuntimeException('[jobcast] set JOBCAST_REDIS_URL to a running Redis, e.g. redis://127.0.0.1:6379 (npm test does)');
        }
        $parts = parse_url($url);
        return new self($parts['host'] ?? '127.0.0.1', $parts['port'] ?? 6379, false);
    }

    /** A private redis-server on a free port. */
    public static function start(): self
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        $redis = new self('127.0.0.1', $port, true);
        $redis->spawn();
        return $redis;
    }

    public function client(): \Redis
    {
        $redis = new \Redis();
        $redis->connect($this->host, $this->port, 2.0);
        return $redis;
    }

    /** SIGKILLs the private server. */
    public function kill(): void
    {
        if ($this->pid !== null) {
            posix_kill($this->pid, SIGKILL);
            $this->waitGone($this->pid);
            $this->pid = null;
        }
    }

    /** Starts the private server again, empty, after `$delaySeconds`, without waiting (the test goes on meanwhile). */
    public function restartLater(float $delaySeconds): void
    {
        $pidFile = $this->pidFile();
        @unlink($pidFile);
        exec(sprintf('(sleep %.2f; exec redis-server --port %d --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --pidfile %s) > /dev/null 2>&1 &', $delaySeconds, $this->port, escapeshellarg($pidFile)));
        $this->pid = null;
    }

    /** Waits until a restarted server answers, and adopts its pid. */
    public function waitUp(): void
    {
        $deadline = microtime(true) + 10;
        while (microtime(true) < $deadline) {
            $pid = (int) @file_get_contents($this->pidFile());
            if ($pid > 0 && @fsockopen($this->host, $this->port) !== false) {
                $this->pid = $pid;
                return;
            }
            usleep(20000);
        }
        throw new \RuntimeException("[jobcast] redis-server on port {$this->port} did not come up within 10 s");
    }

    public function stop(): void
    {
        if ($this->owned) {
            $this->kill();
            @unlink($this->pidFile());
        }
    }

    private function spawn(): void
    {
        exec(sprintf('redis-server --port %d --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --pidfile %s 2>&1', $this->port, escapeshellarg($this->pidFile())), $output, $status);
        if ($status !== 0) {
            throw new \RuntimeException('[jobcast] could not start redis-server: install it (apt-get install -y redis-server): ' . implode("\n", $output));
        }
        $this->waitUp();
    }

    private function pidFile(): string
    {
        return sys_get_temp_dir() . "/jobcast-php-redis-{$this->port}.pid";
    }

    private function waitGone(int $pid): void
    {
        $deadline = microtime(true) + 5;
        while (posix_kill($pid, 0) && microtime(true) < $deadline) {
            usleep(10000);
        }
    }
}
