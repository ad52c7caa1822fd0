<?php

declare(strict_types=1);

namespace Jobcast;

/** Redis stayed unreachable for the whole `retryFor` bound: the event was not published. */
final class BusUnavailableException extends JobcastException
{
}
