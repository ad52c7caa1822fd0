<?php

declare(strict_types=1);

namespace Jobcast\Tests;

use Jobcast\BusUnavailableException;
use Jobcast\InvalidEventException;
use Jobcast\JobcastException;
use Jobcast\Publisher;
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/support/TestRedis.php';

final class PublisherTest extends TestCase
{
    private \Redis $redis;
    private string $prefix;

    protected function setUp(): void
    {
        $this->redis = TestRedis::shared()->client();
        $this->prefix = 'php' . bin2hex(random_bytes(4)) . ':';
    }

    protected function tearDown(): void
    {
        $this->redis->close();
    }

    /** @return array<string, mixed> */
    private function snapshot(string $id): array
    {
        return json_decode((string) $this->redis->get("{$this->prefix}job:{{$id}}"), true, 512, JSON_THROW_ON_ERROR);
    }

    public function testEveryVerbPublishesItsStatusAndAfterTheEndNothing(): void
    {
        $jobs = new Publisher($this->redis, $this->prefix);
        $steps = [
            $jobs->queued('export-1', ['message' => 'waiting']),
            $jobs->active('export-1'),
            $jobs->progress('export-1', 40, ['message' => 'Exported 400 of 1000 rows', 'data' => ['processed' => 400, 'total' => 1000]]),
            $jobs->complete('export-1', ['downloadUrl' => '/files/export-1.csv']),
        ];
        self::assertSame([['queued', null], ['active', null], ['active', 40], ['completed', 100]], array_map(static fn ($o) => [$o->event['status'], $o->event['progress'] ?? null], $steps));
        self::assertSame(['processed' => 400, 'total' => 1000], $steps[2]->event['data']);
        self::assertSame(['downloadUrl' => '/files/export-1.csv'], $this->snapshot('export-1')['result']);
        $seqs = array_map(static fn ($o) => $o->event['seq'], $steps);
        self::assertSame($seqs, array_values(array_unique($seqs)));
        self::assertGreaterThan($seqs[2], $seqs[3]);

        $late = $jobs->cancel('export-1');
        self::assertFalse($late->published);
        self::assertSame('terminal', $late->reason);
        self::assertSame('completed', $late->event['status']);
    }

    public function testFailTakesAStringAnArrayOrAThrowable(): void
    {
        $jobs = new Publisher($this->redis, $this->prefix);
        $errors = [
            $jobs->fail('f1', 'boom')->event['error'],
            $jobs->fail('f2', ['message' => 'm', 'code' => 'c'])->event['error'],
            $jobs->fail('f3', new \RuntimeException('disk full', 28))->event['error'],
            $jobs->fail('f4', new \LogicException('plain'))->event['error'],
        ];
        self::assertSame([['message' => 'boom'], ['message' => 'm', 'code' => 'c'], ['message' => 'disk full', 'code' => '28'], ['message' => 'plain']], $errors);
    }

    public function testEmptyArraysAreSentAsEmptyObjectsAndTsDefaultsToNow(): void
    {
        $jobs = new Publisher($this->redis, $this->prefix);
        $before = (int) floor(microtime(true) * 1000);
        $jobs->complete('e1', [], ['data' => []]);
        $stored = (string) $this->redis->get("{$this->prefix}job:{e1}");
        self::assertStringContainsString('"result":{}', $stored);
        self::assertStringContainsString('"data":{}', $stored);
        self::assertGreaterThanOrEqual($before, $this->snapshot('e1')['ts']);
    }

    public function testRefusedEventsThrowTypedExceptions(): void
    {
        $jobs = new Publisher($this->redis, $this->prefix);
        foreach ([
            [fn () => $jobs->progress('r1', 140), 'invalid_event', 'progress'],
            [fn () => $jobs->publish(['id' => 'r1', 'status' => 'running']), 'invalid_event', 'status'],
            [fn () => $jobs->active('bad id'), 'invalid_job_id', 'id'],
            [fn () => $jobs->active('r1', ['colour' => 'red']), 'invalid_event', 'colour'],
            [fn () => $jobs->progress('r1', NAN), 'invalid_event', 'event'],
        ] as [$call, $code, $field]) {
            try {
                $call();
                self::fail("expected {$code}: {$field}");
            } catch (InvalidEventException $e) {
                self::assertSame([$code, $field], [$e->errorCode, $e->field], $e->getMessage());
                self::assertStringStartsWith('[jobcast] ', $e->getMessage());
            }
        }
        self::assertFalse($this->redis->exists("{$this->prefix}job:{r1}") > 0);
    }

    public function testAResentEventIsAnsweredWithItsFirstOutcome(): void
    {
        $jobs = new Publisher($this->redis, $this->prefix);
        $first = $jobs->complete('x1', ['n' => 1], ['ts' => 5]);
        $again = $jobs->complete('x1', ['n' => 1], ['ts' => 5]);
        self::assertTrue($again->published);
        self::assertSame($first->event, $again->event);
    }

    public function testUnconnectedClientAndMissingScriptsAreConfigErrors(): void
    {
        try {
            new Publisher(new \Redis());
            self::fail('accepted an unconnected client');
        } catch (JobcastException $e) {
            self::assertSame('invalid_config', $e->errorCode);
        }
        $prefixed = TestRedis::shared()->client();
        $prefixed->setOption(\Redis::OPT_PREFIX, 'laravel_database_');
        try {
            new Publisher($prefixed);
            self::fail('accepted a client that prefixes keys');
        } catch (JobcastException $e) {
            self::assertStringContainsString("prefixes every key with 'laravel_database_'", $e->getMessage());
        }
        $this->expectExceptionMessageMatches('/^\[jobcast\] cannot read \/nowhere\/publish\.lua: pass \'luaDir\'/');
        new Publisher($this->redis, $this->prefix, ['luaDir' => '/nowhere']);
    }

    public function testWaitsOutARedisRestartAndRestoresTheFinalStatesItLost(): void
    {
        $server = TestRedis::start();
        try {
            $redis = $server->client();
            $jobs = new Publisher($redis, 'jobcast:', ['retryFor' => 20]);
            $jobs->complete('done-before', ['downloadUrl' => '/files/a.csv']);
            $jobs->progress('running', 50);
            $server->kill();
            $server->restartLater(0.8);
            $started = microtime(true);
            $outcome = $jobs->progress('running', 60);
            self::assertGreaterThan(0.5, microtime(true) - $started, 'the call waited for Redis');
            self::assertTrue($outcome->published);
            $server->waitUp();
            $check = $server->client();
            $restored = json_decode((string) $check->get('jobcast:job:{done-before}'), true);
            self::assertSame(['completed', ['downloadUrl' => '/files/a.csv']], [$restored['status'], $restored['result']]);
            self::assertSame(60, json_decode((string) $check->get('jobcast:job:{running}'), true)['progress']);
            self::assertEqualsCanonicalizing(['done-before', 'running'], $jobs->rememberedJobs());
            // A restore never re-opens a job: the terminal state stays.
            self::assertFalse($jobs->cancel('done-before')->published);
        } finally {
            $server->stop();
        }
    }

    public function testGivesUpAfterRetryForWithBusUnavailable(): void
    {
        $server = TestRedis::start();
        $redis = $server->client();
        $jobs = new Publisher($redis, 'jobcast:', ['retryFor' => 0.4]);
        $server->stop();
        $started = microtime(true);
        try {
            $jobs->progress('lost', 10);
            self::fail('published without Redis');
        } catch (BusUnavailableException $e) {
            self::assertSame('bus_unavailable', $e->errorCode);
            self::assertMatchesRegularExpression('/unreachable for 0\.4 s \(retryFor\)/', $e->getMessage());
            self::assertEqualsWithDelta(0.4, microtime(true) - $started, 0.35);
        }
    }
}
