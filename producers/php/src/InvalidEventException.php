<?php

declare(strict_types=1);

namespace Jobcast;

/**
 * The publish script refused an event that breaks docs/protocol.md "Event". `errorCode` is
 * `invalid_event` or `invalid_job_id`; `field` names the field at fault (`event` for the whole).
 */
final class InvalidEventException extends JobcastException
{
    public function __construct(string $errorCode, public readonly string $field, string $message, ?string $jobId = null, ?\Throwable $previous = null)
    {
        parent::__construct($errorCode, $message, $jobId, $previous);
    }

    /** Reads a script error reply such as `invalid_event: progress must be a number 0–100`; null for any other reply. */
    public static function fromReply(string $reply, ?string $jobId, ?\Throwable $previous = null): ?self
    {
        if (preg_match('/^(invalid_event|invalid_job_id): (\S+) /', $reply, $match) !== 1) {
            return null;
        }
        $job = $jobId === null ? '' : " (job {$jobId})";
        return new self($match[1], $match[2], "{$reply}{$job}; see docs/protocol.md \"Event\"", $jobId, $previous);
    }
}
