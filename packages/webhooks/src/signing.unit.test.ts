import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inheritedEnv } from '@pipeline/testing';
import { Webhook } from 'standardwebhooks';
import { newSecret, signature, verify, webhookHeaders, webhookId } from './signing';

const body = JSON.stringify({ type: 'UPDATE', table: 'orders', schema: 'public', record: { status: 'confirmed' } });
const now = () => Math.floor(Date.now() / 1000);

describe('Standard Webhooks signatures', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newSecret()).not.toBe(secret);
  });

  it('gives one id per subscription and event, whatever the attempt', () => {
    expect(webhookId('sub-1', 'evt-1')).toBe(webhookId('sub-1', 'evt-1'));
    expect(webhookId('sub-1', 'evt-1')).not.toBe(webhookId('sub-2', 'evt-1'));
    expect(webhookId('sub-1', 'evt-1')).not.toBe(webhookId('sub-1', 'evt-2'));
    expect(webhookId('sub-1', 'evt-1')).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });

  it('signs what the standardwebhooks package verifies, and it rejects a tampered body, a wrong secret and an old timestamp', () => {
    const secret = newSecret();
    const id = webhookId('sub', 'evt');
    const headers = webhookHeaders([secret], id, now(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(id, new Date(Number(headers['webhook-timestamp']) * 1000), body));

    expect(() => new Webhook(secret).verify(body.replace('confirmed', 'cancelled'), headers)).toThrow('No matching signature found');
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow('No matching signature found');
    const old = webhookHeaders([secret], id, now() - 6 * 60, body);
    expect(() => new Webhook(secret).verify(body, old)).toThrow('Message timestamp too old');
    expect(verify(secret, headers, body, now())).toBe(true);
    expect(verify(secret, old, body, now())).toBe(false);
  });

  it('signs with both secrets during a rotation: a receiver with either one verifies', () => {
    const [next, previous] = [newSecret(), newSecret()];
    const headers = webhookHeaders([next, previous], webhookId('sub', 'evt'), now(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(next).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow('No matching signature found');
  });

  it('is verified by the README’s openssl example, which rejects a tampered body and a wrong secret', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'services', 'webhook-dispatcher', 'README.md'), 'utf8');
    const script = /```sh verify-webhook\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(script).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'webhook-openssl-'));
    const secret = newSecret();
    const id = webhookId('sub', 'evt');
    const headers = webhookHeaders([secret, newSecret()], id, now(), body);
    const run = (env: { SECRET: string; body: string }) => {
      writeFileSync(join(dir, 'body.json'), env.body);
      return spawnSync('sh', ['-c', script as string], {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: inheritedEnv().PATH,
          SECRET: env.SECRET,
          WEBHOOK_ID: headers['webhook-id'],
          WEBHOOK_TIMESTAMP: headers['webhook-timestamp'],
          WEBHOOK_SIGNATURE: headers['webhook-signature'],
        },
      });
    };
    const good = run({ SECRET: secret, body });
    expect([good.status, good.stdout.trim(), good.stderr]).toEqual([0, 'verified', '']);
    const tampered = run({ SECRET: secret, body: body.replace('confirmed', 'cancelled') });
    expect([tampered.status, tampered.stderr.trim()]).toEqual([1, 'signature does not match: rejected']);
    expect(run({ SECRET: newSecret(), body }).status).toBe(1);
    expect(signature(secret, id, Number(headers['webhook-timestamp']), body)).toBe(headers['webhook-signature'].split(' ')[0]);
  });
});
