<?php

declare(strict_types=1);

namespace Jobcast;

/**
 * What a publish did. `published` false means the job already had a terminal event
 * (`reason` is `terminal`, `event` is that stored terminal event); nothing was written then.
 */
final class PublishOutcome
{
    /**
     * @param array<string, mixed> $event the stored event with its `seq` (the new one, or the terminal one kept)
     */
    public function __construct(
        public readonly bool $published,
        public readonly array $event,
        public readonly ?string $reason = null,
    ) {
    }
}
