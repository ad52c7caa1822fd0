<?php
// A PHP worker: takes the export requests examples/seed-app pushes to a Redis list and reports
// their progress with Jobcast\Publisher, ending with the file's download link.
// Run: JOBCAST_REDIS_URL=redis://127.0.0.1:6379 php examples/php-python-workers/worker.php [--once]

declare(strict_types=1);

require __DIR__ . '/../../producers/php/autoload.php';

use Jobcast\JobcastException;
use Jobcast\Publisher;

/** The Redis list the seed app pushes export requests to. */
const QUEUE_KEY = 'jobcast-example:exports';

function connectRedis(string $url): Redis
{
    $parts = parse_url($url);
    $redis = new Redis();
    $redis->connect($parts['host'] ?? '127.0.0.1', $parts['port'] ?? 6379, 2.0);
    return $redis;
}

/** One simulated export: `active` steps, then `completed` with a download link. */
function runExport(Publisher $jobs, string $jobId, int $rows, int $stepMs, int $steps = 10): void
{
    $jobs->active($jobId, ['progress' => 0, 'message' => 'Starting export (PHP worker)']);
    for ($step = 1; $step < $steps; $step++) {
        usleep($stepMs * 1000);
        $processed = intdiv($rows * $step, $steps);
        $jobs->progress($jobId, intdiv(100 * $step, $steps), [
            'message' => "Exported {$processed} of {$rows} rows",
            'data' => ['processed' => $processed, 'total' => $rows, 'worker' => 'php'],
        ]);
    }
    usleep($stepMs * 1000);
    $jobs->complete($jobId, ['downloadUrl' => '/downloads/' . rawurlencode($jobId) . '.csv', 'rows' => $rows], ['message' => "Exported {$rows} rows"]);
}

$url = getenv('JOBCAST_REDIS_URL') ?: 'redis://127.0.0.1:6379';
$stepMs = (int) (getenv('JOBCAST_STEP_MS') ?: 200);
$once = in_array('--once', $argv, true);
// BRPOP blocks its connection, so the queue gets its own; the publisher has another.
$jobs = new Publisher(connectRedis($url), getenv('JOBCAST_PREFIX') ?: Publisher::DEFAULT_PREFIX);
$queue = connectRedis($url);
echo "worker.php: waiting for exports on {$url} (list " . QUEUE_KEY . ")\n";
while (true) {
    try {
        $popped = $queue->brPop([QUEUE_KEY], 1);
    } catch (RedisException $e) {
        fwrite(STDERR, "[jobcast] worker.php: {$e->getMessage()}, retrying\n");
        usleep(500_000);
        try {
            $queue = connectRedis($url);
        } catch (RedisException) {
        }
        continue;
    }
    if (!is_array($popped) || count($popped) < 2) {
        continue;
    }
    $request = json_decode($popped[1], true);
    $jobId = (string) $request['jobId'];
    echo "worker.php: running {$jobId}\n";
    try {
        runExport($jobs, $jobId, (int) ($request['rows'] ?? 1000), $stepMs);
        echo "worker.php: {$jobId} completed\n";
    } catch (JobcastException $e) {
        fwrite(STDERR, "{$e->getMessage()}\n");
        try {
            $jobs->fail($jobId, $e);
        } catch (JobcastException) {
        }
    }
    if ($once) {
        break;
    }
}
