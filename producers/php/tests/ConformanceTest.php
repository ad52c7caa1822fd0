<?php

declare(strict_types=1);

namespace Jobcast\Tests;

use Jobcast\InvalidEventException;
use Jobcast\Publisher;
use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/support/TestRedis.php';

/** The conformance table (test/conformance/events.json) through the PHP publisher. */
final class ConformanceTest extends TestCase
{
    /** @return iterable<string, array{object}> */
    public static function cases(): iterable
    {
        $table = json_decode((string) file_get_contents(dirname(__DIR__, 3) . '/test/conformance/events.json'), false, 512, JSON_THROW_ON_ERROR);
        foreach ($table->cases as $case) {
            if (!isset($case->notFor->php)) {
                yield $case->name => [$case];
            }
        }
    }

    /** @dataProvider cases */
    public function testCase(object $case): void
    {
        $redis = TestRedis::shared()->client();
        $prefix = 'php' . bin2hex(random_bytes(4)) . ':';
        $publisher = new Publisher($redis, $prefix);
        // Objects stay objects (stdClass), lists stay PHP lists: what a PHP caller would hand over.
        $event = (array) $case->event;
        if (isset($case->expect->error)) {
            [$code, $field] = explode(': ', $case->expect->error);
            try {
                $publisher->publish($event);
                self::fail("published, expected {$case->expect->error}");
            } catch (InvalidEventException $e) {
                self::assertSame([$code, $field], [$e->errorCode, $e->field], $e->getMessage());
                self::assertStringStartsWith("[jobcast] {$code}: {$field} ", $e->getMessage());
            }
            return;
        }
        $outcome = $publisher->publish($event);
        self::assertTrue($outcome->published);
        $stored = (string) $redis->get("{$prefix}job:{{$case->jobId}}");
        self::assertDoesNotMatchRegularExpression('/[\r\n]/', $stored);
        $decoded = json_decode($stored, false, 512, JSON_THROW_ON_ERROR);
        self::assertIsInt($decoded->seq);
        unset($decoded->seq);
        self::assertEquals($case->expect->stored, $decoded);
        $redis->close();
    }
}
