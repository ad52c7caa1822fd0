<?php

declare(strict_types=1);

namespace Jobcast\Tests;

use Jobcast\JobcastException;
use Jobcast\JobToken;
use PHPUnit\Framework\TestCase;

final class JobTokenTest extends TestCase
{
    private const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

    private static function part(string $token, int $index): array
    {
        $segment = explode('.', $token)[$index];
        return json_decode(base64_decode(strtr($segment, '-_', '+/')), true, 512, JSON_THROW_ON_ERROR);
    }

    public function testSignsTheClaimsOfSignJobToken(): void
    {
        $token = JobToken::sign(['export-42', 'user-9:*'], '15m', self::SECRET, ['sub' => 'u9', 'aud' => 'jobcast', 'iss' => 'app', 'kid' => 'k1', 'notBeforeIn' => 5, 'now' => 1000]);
        [$header, $claims] = [self::part($token, 0), self::part($token, 1)];
        self::assertSame(['alg' => 'HS256', 'typ' => 'JWT', 'kid' => 'k1'], $header);
        self::assertSame(['jobs' => ['export-42', 'user-9:*'], 'iat' => 1000, 'exp' => 1900, 'nbf' => 1005, 'sub' => 'u9', 'aud' => 'jobcast', 'iss' => 'app'], $claims);
        [$h, $c, $signature] = explode('.', $token);
        self::assertSame(rtrim(strtr(base64_encode(hash_hmac('sha256', "{$h}.{$c}", self::SECRET, true)), '+/', '-_'), '='), $signature);
        self::assertStringNotContainsString('=', $token);
    }

    public function testRefusesWhatTheGatewayWouldRefuse(): void
    {
        foreach ([
            [[], '15m', self::SECRET, '/jobs is empty/'],
            [['user-*'], '15m', self::SECRET, '/"user-\*" is neither a job id nor a prefix pattern/'],
            [['a b'], 60, self::SECRET, '/neither a job id/'],
            [['x'], '15 minutes', self::SECRET, '/expiresIn must be/'],
            [['x'], 0, self::SECRET, '/expiresIn must be/'],
            [['x'], 60, 'short', '/the secret is 5 bytes, HS256 needs at least 32/'],
        ] as [$jobs, $expiresIn, $secret, $pattern]) {
            try {
                JobToken::sign($jobs, $expiresIn, $secret);
                self::fail('signed ' . json_encode($jobs));
            } catch (JobcastException $e) {
                self::assertSame('invalid_config', $e->errorCode);
                self::assertMatchesRegularExpression($pattern, $e->getMessage());
            }
        }
    }
}
