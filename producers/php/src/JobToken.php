<?php

declare(strict_types=1);

namespace Jobcast;

/**
 * Mints job tokens (HS256 JWTs) with the claims of the Node `signJobToken`: `jobs`, `iat`,
 * `exp`, and optionally `nbf`, `sub`, `aud`, `iss`. The app's backend mints one when it starts
 * a job and hands it to the page with the job id. See docs/security.md.
 */
final class JobToken
{
    /** Shortest HS256 secret the gateway accepts, in bytes. */
    public const MIN_SECRET_BYTES = 32;

    private const UNIT_SECONDS = ['s' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400];

    /**
     * @param list<string> $jobs job ids and/or prefix patterns such as `user-42:*`
     * @param int|string $expiresIn lifetime: seconds, or a span such as '90s', '15m', '2h', '1d'
     * @param string $secret the gateway's `--secret` (JOBCAST_SECRET), at least 32 bytes
     * @param array{sub?: string, aud?: string|list<string>, iss?: string, notBeforeIn?: int, kid?: string, now?: int} $options
     *   sub, aud, iss: claims (aud and iss must match the gateway's --audience / --issuer when set);
     *   notBeforeIn: seconds from now before which the token is not valid (nbf);
     *   kid: key id header; now: the clock, in seconds since the epoch (default time())
     * @example Jobcast\JobToken::sign([$jobId], '15m', getenv('JOBCAST_SECRET'))
     */
    public static function sign(array $jobs, int|string $expiresIn, string $secret, array $options = []): string
    {
        if ($jobs === []) {
            throw new JobcastException('invalid_config', 'JobToken::sign: jobs is empty; list the jobs the token grants');
        }
        foreach ($jobs as $entry) {
            if (!is_string($entry) || !self::isJobPattern($entry)) {
                throw new JobcastException('invalid_config', 'JobToken::sign: ' . json_encode($entry) . ' is neither a job id nor a prefix pattern like "user-42:*"; list the jobs the token grants');
            }
        }
        if (strlen($secret) < self::MIN_SECRET_BYTES) {
            throw new JobcastException('invalid_config', 'JobToken::sign: the secret is ' . strlen($secret) . ' bytes, HS256 needs at least ' . self::MIN_SECRET_BYTES . ': generate one with "openssl rand -base64 48"');
        }
        $lifetime = self::lifetime($expiresIn);
        if ($lifetime === null) {
            throw new JobcastException('invalid_config', 'JobToken::sign: expiresIn must be a positive number of seconds or a span like "15m", "2h", "1d"');
        }
        $now = $options['now'] ?? time();
        $claims = ['jobs' => array_values($jobs), 'iat' => $now, 'exp' => $now + $lifetime];
        if (isset($options['notBeforeIn'])) {
            $claims['nbf'] = $now + (int) ceil($options['notBeforeIn']);
        }
        foreach (['sub', 'aud', 'iss'] as $name) {
            if (isset($options[$name])) {
                $claims[$name] = $options[$name];
            }
        }
        $header = ['alg' => 'HS256', 'typ' => 'JWT'] + (isset($options['kid']) ? ['kid' => $options['kid']] : []);
        $signingInput = self::base64url(json_encode($header, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES)) . '.'
            . self::base64url(json_encode($claims, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        return $signingInput . '.' . self::base64url(hash_hmac('sha256', $signingInput, $secret, true));
    }

    /** Same grammar as the gateway's `jobs` claim (docs/security.md, "The jobs claim"). */
    private static function isJobPattern(string $entry): bool
    {
        if (str_ends_with($entry, ':*')) {
            $prefix = substr($entry, 0, -1);
            return strlen($prefix) >= 2 && strlen($prefix) < 128 && preg_match('/^[A-Za-z0-9._:@-]+$/D', $prefix) === 1;
        }
        return preg_match('/^[A-Za-z0-9._:@-]{1,128}$/D', $entry) === 1;
    }

    private static function lifetime(int|string $expiresIn): ?int
    {
        if (is_int($expiresIn)) {
            return $expiresIn > 0 ? $expiresIn : null;
        }
        if (preg_match('/^(\d+)\s*([smhd])$/D', trim($expiresIn), $match) !== 1) {
            return null;
        }
        $seconds = (int) $match[1] * self::UNIT_SECONDS[$match[2]];
        return $seconds > 0 ? $seconds : null;
    }

    private static function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
