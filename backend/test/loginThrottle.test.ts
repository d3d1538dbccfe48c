import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/passwordHash.js';
import { memberships, users } from '../src/db/schema.js';
import { LoginThrottle, loginThrottleDefaults } from '../src/http/loginThrottle.js';
import { seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3f: sign-in limits never lock the owner out. 10 failed logins from 10 addresses used
 * to block the right password from every address for 5 minutes (a limit per account). Now each
 * account and client address pair gets growing delays after 3 free failures; another address is
 * never slowed. Time is the app's injected clock (TestApp.setNow), never the wall clock.
 */

describe('LoginThrottle (a clock of its own)', () => {
  let now = 1_000_000;
  const throttle = () => new LoginThrottle(() => now);

  it('lets 3 failures pass, then doubles the wait from 1 s up to 15 minutes', () => {
    const subject = throttle();
    const waits: number[] = [];
    for (let failure = 1; failure <= 16; failure += 1) {
      expect(subject.waitMs('owner\naddress')).toBe(0);
      subject.attempt('owner\naddress');
      waits.push(subject.waitMs('owner\naddress'));
      now += subject.waitMs('owner\naddress');
    }
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits.slice(3, 8)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(waits.at(-1)).toBe(loginThrottleDefaults.maxDelayMs);
  });

  it('keys are independent; a success clears its key; a non-401 answer is taken back', () => {
    const subject = throttle();
    for (let failure = 0; failure < 6; failure += 1) subject.attempt('a\n1');
    expect(subject.waitMs('a\n1')).toBeGreaterThan(0);
    expect(subject.waitMs('a\n2')).toBe(0);
    expect(subject.waitMs('b\n1')).toBe(0);
    subject.succeeded('a\n1');
    expect(subject.waitMs('a\n1')).toBe(0);
    for (let failure = 0; failure < 4; failure += 1) subject.attempt('c\n1');
    expect(subject.waitMs('c\n1')).toBe(1_000);
    subject.undo('c\n1');
    expect(subject.waitMs('c\n1')).toBe(0);
  });

  it('forgets a key a day after its last failure, and keeps at most maxEntries keys', () => {
    const subject = new LoginThrottle(() => now, { maxEntries: 3 });
    for (let failure = 0; failure < 8; failure += 1) subject.attempt('old\n1');
    expect(subject.waitMs('old\n1')).toBeGreaterThan(0);
    now += loginThrottleDefaults.forgetAfterMs + 1;
    expect(subject.waitMs('old\n1')).toBe(0);
    for (const key of ['k1', 'k2', 'k3', 'k4']) {
      for (let failure = 0; failure < 5; failure += 1) subject.attempt(key);
    }
    // The oldest key went first.
    expect(subject.waitMs('k1')).toBe(0);
    expect(subject.waitMs('k4')).toBeGreaterThan(0);
  });
});

describe('POST /api/v1/auth/login', () => {
  const password = 'the owner knows this one';
  let app: TestApp;
  let clock = new Date('2026-03-01T09:00:00Z');
  let addressCounter = 0;
  const freshAddress = () => {
    addressCounter += 1;
    return `198.51.100.${addressCounter}`;
  };

  beforeAll(async () => {
    // One trusted proxy hop: each test address comes in X-Forwarded-For.
    app = await startTestApp({ trustProxy: 1 });
    app.setNow(clock);
    const organizationId = await seedOrganization(app.database, 'Throttle');
    const [user] = await app.database.db
      .insert(users)
      .values({
        email: 'owner@example.com',
        name: 'Owner',
        passwordHash: await hashPassword(password),
      })
      .returning();
    if (user === undefined) throw new Error('no user');
    await app.database.db
      .insert(memberships)
      .values({ organizationId, userId: user.id, role: 'admin' });
  });
  afterAll(() => app?.close());

  const advance = (milliseconds: number) => {
    clock = new Date(clock.getTime() + milliseconds);
    app.setNow(clock);
  };

  async function login(address: string, attempt: string, email = 'owner@example.com') {
    const response = await fetch(`${app.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ email, password: attempt }),
    });
    const text = await response.text();
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: JSON.parse(text) as { error?: { code: string; message: string } },
    };
  }

  it('never locks the owner out: 10 failures from 10 addresses leave the password working from an 11th', async () => {
    for (let attacker = 0; attacker < 10; attacker += 1) {
      expect((await login(freshAddress(), `guess ${attacker}`)).status).toBe(401);
    }
    expect((await login(freshAddress(), password)).status).toBe(200);
  });

  it("slows one address's guesses with growing delays, while the owner signs in from another address", async () => {
    const attacker = freshAddress();
    for (let failure = 1; failure <= 4; failure += 1) {
      expect((await login(attacker, `guess ${failure}`)).status).toBe(401);
    }
    // Four failures: the pair waits 1 s. Even the right password is not checked meanwhile.
    const slowed = await login(attacker, 'guess 5');
    expect(slowed.status).toBe(429);
    expect(slowed.body.error?.code).toBe('rate_limited');
    expect(slowed.body.error?.message).toMatch(/from your address; try again in 1 seconds/);
    expect(slowed.retryAfter).toBe('1');
    expect((await login(attacker, password)).status).toBe(429);

    // The owner, elsewhere, is not slowed at all.
    expect((await login(freshAddress(), password)).status).toBe(200);

    // Each further failure doubles the wait: 2 s, then 4 s.
    advance(1_000);
    expect((await login(attacker, 'guess 6')).status).toBe(401);
    expect((await login(attacker, 'guess 7')).retryAfter).toBe('2');
    advance(2_000);
    expect((await login(attacker, 'guess 8')).status).toBe(401);
    expect((await login(attacker, 'guess 9')).retryAfter).toBe('4');

    // Once the wait is over, the right password from that address works and clears the pair.
    advance(4_000);
    expect((await login(attacker, password)).status).toBe(200);
    expect((await login(attacker, 'a typo')).status).toBe(401);
  });

  it('counts per account: failures against one e-mail address do not slow another account from that address', async () => {
    const address = freshAddress();
    for (let failure = 1; failure <= 5; failure += 1) {
      await login(address, `guess ${failure}`, 'someone-else@example.com');
    }
    expect((await login(address, 'x', 'someone-else@example.com')).status).toBe(429);
    expect((await login(address, password)).status).toBe(200);
  });
});
