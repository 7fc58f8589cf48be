/**
 * Run only by runner-self.unit.test.ts, in a jest of its own: each test below ends with something
 * nobody handles, and the runner must fail it rather than pass it by.
 */
import { EventEmitter } from 'node:events';

it('leaves a promise rejection unhandled', async () => {
  void Promise.reject(new Error('a rejection nobody handles'));
  await new Promise((resolve) => setTimeout(resolve, 50));
});

it('emits an error event nobody listens to, as an idle pg client does when its server stops', async () => {
  const idleClient = new EventEmitter();
  setTimeout(() => idleClient.emit('error', new Error('terminating connection due to administrator command')), 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
});

it('passes', () => undefined);
