<?php

declare(strict_types=1);

namespace Jobcast;

/**
 * Base of every exception the library throws. `errorCode` is one of the stable codes of
 * docs/protocol.md (`invalid_event`, `invalid_job_id`, `bus_unavailable`, `internal`, …).
 */
class JobcastException extends \RuntimeException
{
    public function __construct(
        public readonly string $errorCode,
        string $message,
        public readonly ?string $jobId = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct(str_starts_with($message, '[jobcast] ') ? $message : "[jobcast] {$message}", 0, $previous);
    }
}
